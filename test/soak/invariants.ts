import {
  DB_BOUND_ROUTES,
  endsFamily,
  isSuccess,
  isUncertain,
  ROUTE_LABELS,
  type ResponseRecord,
  type RunWindow,
} from './records.js'
import type { DenylistRow } from './soak-database.js'

/** Slack around the cut's boundaries: a request in flight within a second of them may see the outage. */
export const CUT_SLACK_MS = 1000
/** Slack on the grace window, for the time between the client's clock readings and the server's. */
export const GRACE_SLACK_MS = 1000
export const RECOVERY_MS = 5000

export interface Check {
  name: string
  ok: boolean
  detail: string
  /** A few offending records or ids, for the JSON report. */
  examples: unknown[]
}

export interface Evidence {
  records: ResponseRecord[]
  window: RunWindow
  graceMs: number
  /** The refresh token of every login made during setup, before the clock started. */
  setupSessions: { jti: string; fid: string }[]
  denylist: DenylistRow[]
  serverExit: { exitCode: number | null; signal: string | null; ms: number }
}

const EXAMPLES = 3
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const relativeTo = (at: number, restoredAt: number) =>
  at < restoredAt ? `${seconds(restoredAt - at)} before the restore` : `${seconds(at - restoredAt)} after it`
// Loops, not Math.min(...list): a long run has more records than a call may take arguments.
const earliest = (values: number[]) => values.reduce((min, value) => Math.min(min, value), Infinity)
const latest = (values: number[]) => values.reduce((max, value) => Math.max(max, value), -Infinity)

function check(name: string, failures: unknown[], detail: string): Check {
  return { name, ok: failures.length === 0, detail, examples: failures.slice(0, EXAMPLES) }
}

/** In flight at some moment within CUT_SLACK_MS of the cut. */
const duringCut = (record: ResponseRecord, window: RunWindow) =>
  record.startedAt <= window.restoredAt + CUT_SLACK_MS && record.endedAt >= window.cutAt - CUT_SLACK_MS

const outcome = (record: ResponseRecord) => `${ROUTE_LABELS[record.route]} ${record.status}${record.code ? ` ${record.code}` : ''}`

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

const describeCounts = (counts: Map<string, number>) => [...counts].map(([key, count]) => `${count}× ${key}`).join(', ')

function groupBy<T>(items: T[], key: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const name = key(item)
    if (name === undefined) continue
    const group = groups.get(name)
    if (group) group.push(item)
    else groups.set(name, [item])
  }
  return groups
}

export function checkNoServerErrors({ records, window }: Evidence): Check {
  const allowed = (record: ResponseRecord) =>
    DB_BOUND_ROUTES.has(record.route) && record.status === 503 && record.code === 'service_unavailable' && duringCut(record, window)
  const failed = records.filter((record) => (record.status >= 500 || record.status === 0) && !allowed(record))
  const excused = records.filter(allowed).length
  const detail = failed.length
    ? `${failed.length} outside the exception: ${describeCounts(countBy(failed, outcome))}`
    : `${excused} × 503 service_unavailable on DB-bound routes during the cut, none elsewhere`
  return check('no 5xx (nor dropped connection) except 503 on DB-bound routes during the cut ±1 s', failed, detail)
}

/** The only 4xx a client that follows the rules may see: its login ended (see checkSessionEndsExplained). */
export function checkNoUnexpectedRefusals({ records }: Evidence): Check {
  const failed = records.filter(
    (record) => record.status >= 400 && record.status < 500 && !(record.route === 'refresh' && endsFamily(record)),
  )
  const detail = failed.length
    ? `${failed.length} unexpected: ${describeCounts(countBy(failed, outcome))}`
    : 'every 4xx was a refresh answered token_reused or token_revoked'
  return check('no 4xx except 401 token_reused / token_revoked on refresh', failed, detail)
}

export function checkMeAlwaysAnswers({ records, window }: Evidence): Check {
  const me = records.filter((record) => record.route === 'me')
  const failed = me.filter((record) => record.status !== 200)
  const inCut = me.filter((record) => record.startedAt >= window.cutAt && record.endedAt <= window.restoredAt)
  const detail = failed.length
    ? `${failed.length} of ${me.length} failed: ${describeCounts(countBy(failed, outcome))}`
    : `${me.length} of ${me.length} answered 200, ${inCut.length} of them while the database was cut`
  return check('GET /me answers 200 throughout, the cut included', me.length === 0 ? ['no /me requests'] : failed, detail)
}

/**
 * A refresh token is accepted (200) a second time only inside the grace window, and then with the
 * same successor. The window is measured from the first acceptance the client saw and, because a 503
 * may hide an earlier commit, from the rotation's revoked_at in the database. Replays are presented
 * past the window (or after their login ended) by construction, so each must be refused.
 */
export function checkGraceWindow({ records, graceMs, denylist }: Evidence): Check {
  const refreshes = records.filter((record) => record.route === 'refresh')
  const rotationOf = new Map(denylist.filter((row) => row.scope === 'token').map((row) => [row.id, row]))
  const firstPresented = new Map<string, number>()
  for (const record of refreshes) {
    if (record.jti) firstPresented.set(record.jti, Math.min(firstPresented.get(record.jti) ?? Infinity, record.startedAt))
  }
  const failures: ({ problem: string } & Record<string, unknown>)[] = []
  let acceptedTwice = 0
  for (const [jti, accepted] of groupBy(refreshes.filter(isSuccess), (record) => record.jti)) {
    const successors = new Set(accepted.map((record) => record.successorJti))
    if (successors.size > 1) failures.push({ problem: 'one token, two successors', jti, successors: [...successors] })
    if (accepted.length > 1) acceptedTwice++
    const firstAnswer = earliest(accepted.map((record) => record.endedAt))
    const recorded = rotationOf.get(jti)?.revokedAt
    if (recorded !== undefined && (recorded > firstAnswer + GRACE_SLACK_MS || recorded < (firstPresented.get(jti) ?? 0) - GRACE_SLACK_MS)) {
      // Otherwise a clock or time-zone mismatch would quietly move every window.
      failures.push({ problem: 'revoked_at is not within the requests that rotated the token', jti, recorded, firstAnswer })
    }
    const rotatedAt = Math.min(firstAnswer, recorded ?? Infinity)
    for (const late of accepted.filter((record) => record.startedAt > rotatedAt + graceMs + GRACE_SLACK_MS)) {
      failures.push({ problem: 'accepted after the grace window', jti, sinceRotationMs: late.startedAt - rotatedAt })
    }
  }
  const replays = refreshes.filter((record) => record.kind === 'replay')
  for (const replay of replays.filter(isSuccess)) failures.push({ problem: 'replayed token accepted', ...replay })
  const refusals = countBy(replays.filter(endsFamily), (record) => record.code ?? '')
  const replayed = `${replays.length} replays: ${describeCounts(refusals) || 'none refused'}`
  const detail = failures.length
    ? `${failures.length} violations (${describeCounts(countBy(failures, (failure) => failure.problem))}); ${replayed}`
    : `${acceptedTwice} tokens accepted twice, all inside the window with one successor; ${replayed}`
  return check(`no refresh token accepted twice outside the ${graceMs / 1000} s grace window`, failures, detail)
}

/** Every edge presented jti -> successor jti, from the client's 200s and from the database's rotations. */
function successorsByJti(records: ResponseRecord[], denylist: DenylistRow[]): Map<string, Set<string>> {
  const successors = new Map<string, Set<string>>()
  const add = (jti: string, successor: string) => {
    const known = successors.get(jti)
    if (known) known.add(successor)
    else successors.set(jti, new Set([successor]))
  }
  for (const record of records) {
    if (record.route === 'refresh' && isSuccess(record) && record.jti && record.successorJti) add(record.jti, record.successorJti)
  }
  for (const row of denylist) if (row.scope === 'token' && row.successorJti) add(row.id, row.successorJti)
  return successors
}

/**
 * Each family (one login) is a single chain: every token has at most one successor (client and
 * database agree), every successor one parent, and every token the client presented descends from
 * the family's login. Once the client was told a family was revoked, no later refresh of it succeeds.
 */
export function checkSingleChain({ records, denylist, setupSessions }: Evidence): Check {
  const failures: unknown[] = []
  const successors = successorsByJti(records, denylist)
  const parentOf = new Map<string, string>()
  for (const [jti, next] of successors) {
    if (next.size > 1) failures.push({ problem: 'a token with two successors (a branch)', jti, successors: [...next] })
    for (const successor of next) {
      const parent = parentOf.get(successor)
      if (parent && parent !== jti) failures.push({ problem: 'a successor with two parents', successor, parents: [parent, jti] })
      parentOf.set(successor, jti)
    }
  }
  const roots = new Set(setupSessions.map((session) => session.jti))
  for (const record of records) if (record.route === 'login' && record.successorJti) roots.add(record.successorJti)
  const presented = new Set(records.flatMap((record) => (record.route === 'refresh' && record.jti ? [record.jti] : [])))
  const descendsFromLogin = (jti: string) => {
    for (let hop: string | undefined = jti, steps = 0; hop && steps < 100_000; hop = parentOf.get(hop), steps++) {
      if (roots.has(hop)) return true
    }
    return false
  }
  for (const jti of presented) if (!descendsFromLogin(jti)) failures.push({ problem: 'a token that descends from no login', jti })

  const families = new Set(records.flatMap((record) => (record.fid ? [record.fid] : [])))
  const revokedAt = new Map<string, number>()
  for (const record of records) {
    const revokes = (record.route === 'logout' && record.status === 204) || (record.route === 'refresh' && endsFamily(record))
    if (revokes && record.fid) revokedAt.set(record.fid, Math.min(revokedAt.get(record.fid) ?? Infinity, record.endedAt))
  }
  for (const record of records) {
    const since = record.fid ? revokedAt.get(record.fid) : undefined
    if (record.route === 'refresh' && isSuccess(record) && since !== undefined && record.startedAt > since) {
      failures.push({ problem: 'a revoked family refreshed again', ...record })
    }
  }
  const detail = `${families.size} families used, ${successors.size} rotations, ${revokedAt.size} families revoked and none refreshed since`
  return check('no family with two live branches (one chain per login; revoked stays revoked)', failures, detail)
}

/**
 * A client that follows the rules loses its session only by logging out, unless a request of that
 * login failed with 503 and had committed anyway: a rotation whose retry came after the grace window
 * (token_reused), or a logout or reuse detection (token_revoked).
 */
export function checkSessionEndsExplained({ records }: Evidence): Check {
  const failures: unknown[] = []
  const firstUncertain = new Map<string, number>()
  for (const record of records) {
    if (record.fid && isUncertain(record) && record.route !== 'me') {
      firstUncertain.set(record.fid, Math.min(firstUncertain.get(record.fid) ?? Infinity, record.startedAt))
    }
  }
  const surprises = records.filter((record) => record.route === 'refresh' && record.kind !== 'replay' && endsFamily(record))
  for (const ended of surprises) {
    const uncertainSince = ended.fid ? firstUncertain.get(ended.fid) : undefined
    if (uncertainSince === undefined || uncertainSince >= ended.startedAt) failures.push({ problem: 'session ended without cause', ...ended })
  }
  const codes = describeCounts(countBy(surprises, (record) => record.code ?? ''))
  const detail = failures.length
    ? `${failures.length} of ${surprises.length} (${codes}) came with no 503 of the same login before them`
    : surprises.length
      ? `sessions ended: ${surprises.length} (${codes}), each after a 503 of the same login that had committed`
      : 'no session ended except by logout or a replay'
  return check('no session lost except after a 503 that had committed', failures, detail)
}

export interface DenylistAccount {
  rows: number
  rotations: number
  logouts: number
  reuseDetections: number
  /** Families the client only knows are revoked because it was told token_revoked. */
  revokedOtherwise: number
  expected: number
  /** Rows whose request answered 503 (or dropped) and had committed anyway, of `uncertain` such requests. */
  committedUncertain: number
  uncertain: number
  missing: string[]
  unexplained: string[]
}

/**
 * Counts what the client knows must be in revoked_tokens: one row per rotated jti (a 200, or a
 * token_reused on it, which means it had been rotated) and one per revoked family (a logout's 204, a
 * token_reused or token_revoked on it). Requests that answered 503 may or may not have added a row;
 * those are matched by id, so every row is accounted for and every known revocation is found.
 */
export function accountDenylist({ records, denylist }: Evidence): DenylistAccount {
  const refreshes = records.filter((record) => record.route === 'refresh')
  const logouts = records.filter((record) => record.route === 'logout')
  const rotated = new Set(
    refreshes.filter((record) => isSuccess(record) || record.code === 'token_reused').flatMap((record) => (record.jti ? [record.jti] : [])),
  )
  const fidsOf = (list: ResponseRecord[]) => new Set(list.flatMap((record) => (record.fid ? [record.fid] : [])))
  const loggedOut = fidsOf(logouts.filter((record) => record.status === 204))
  const reused = fidsOf(refreshes.filter((record) => record.code === 'token_reused' && record.status === 401))
  const toldRevoked = fidsOf(refreshes.filter((record) => record.code === 'token_revoked' && record.status === 401))
  const families = new Set([...loggedOut, ...reused, ...toldRevoked])
  const known = new Set([...rotated, ...families])

  const uncertainIds = new Set<string>()
  for (const record of [...refreshes, ...logouts].filter(isUncertain)) {
    if (record.route === 'refresh' && record.jti && !known.has(record.jti)) uncertainIds.add(record.jti)
    if (record.fid && !known.has(record.fid)) uncertainIds.add(record.fid)
  }
  const inDatabase = new Set(denylist.map((row) => row.id))
  const reusedOnly = [...reused].filter((fid) => !loggedOut.has(fid))
  return {
    rows: denylist.length,
    rotations: rotated.size,
    logouts: loggedOut.size,
    reuseDetections: reusedOnly.length,
    revokedOtherwise: families.size - loggedOut.size - reusedOnly.length,
    expected: known.size,
    committedUncertain: [...uncertainIds].filter((id) => inDatabase.has(id)).length,
    uncertain: uncertainIds.size,
    missing: [...known].filter((id) => !inDatabase.has(id)),
    unexplained: [...inDatabase].filter((id) => !known.has(id) && !uncertainIds.has(id)),
  }
}

export function checkDenylistCount(evidence: Evidence): Check {
  const account = accountDenylist(evidence)
  const { rows, rotations, logouts, reuseDetections, revokedOtherwise, expected, committedUncertain, uncertain } = account
  const toldRevoked = revokedOtherwise ? `, known from token_revoked: ${revokedOtherwise}` : ''
  const breakdown =
    `${rotations} rotations + ${logouts + reuseDetections + revokedOtherwise} family revocations ` +
    `(logouts: ${logouts}, reuse detections: ${reuseDetections}${toldRevoked})` +
    (uncertain ? ` + ${committedUncertain} of the ${uncertain} rows that requests answered 503 might have written` : '')
  const matches = account.missing.length === 0 && account.unexplained.length === 0
  const detail = matches
    ? `${rows} rows = ${breakdown}`
    : `${rows} rows in the database, ${expected} counted by the client: ${breakdown}; ` +
      `${account.missing.length} counted but missing, ${account.unexplained.length} rows nobody asked for`
  const failures = [...account.missing.map((id) => ({ missing: id })), ...account.unexplained.map((id) => ({ unexplained: id }))]
  return check('revoked_tokens rows = rotations + family revocations counted by the client', failures, detail)
}

export function checkRecovery({ records, window }: Evidence): Check {
  const dbBound = records.filter((record) => DB_BOUND_ROUTES.has(record.route))
  const unavailable = dbBound.filter((record) => record.status === 503)
  const successesAfter = dbBound.filter((record) => isSuccess(record) && record.endedAt >= window.restoredAt)
  const firstSuccessAfterMs = earliest(successesAfter.map((record) => record.endedAt)) - window.restoredAt
  const late = unavailable.filter((record) => record.endedAt > window.restoredAt + RECOVERY_MS)
  const lastUnavailable = latest([window.cutAt, ...unavailable.map((record) => record.endedAt)])
  const failures: unknown[] = [...late]
  if (!(firstSuccessAfterMs <= RECOVERY_MS)) failures.unshift({ problem: 'no DB-bound success within 5 s of the restore', firstSuccessAfterMs })
  const detail =
    `first DB-bound success ${Number.isFinite(firstSuccessAfterMs) ? seconds(firstSuccessAfterMs) : 'never'} after the restore, ` +
    `last 503 ${relativeTo(lastUnavailable, window.restoredAt)}${late.length ? `; ${late.length} 503s later than 5 s` : ''}`
  return check('recovery within 5 s of the database coming back', failures, detail)
}

/** Not an invariant of the API but of the test: a cut nobody noticed would make the others vacuous. */
export function checkCutFelt({ records, window }: Evidence): Check {
  const unavailable = records.filter(
    (record) => DB_BOUND_ROUTES.has(record.route) && record.status === 503 && duringCut(record, window),
  )
  const detail = `${unavailable.length} DB-bound requests answered 503 during the ${seconds(window.restoredAt - window.cutAt)} cut`
  const unnoticed = window.restoredAt > window.cutAt && unavailable.length === 0
  return check('the database cut was felt', unnoticed ? ['no 503 during the cut'] : [], detail)
}

export function checkCleanExit({ serverExit }: Evidence): Check {
  const { exitCode, signal, ms } = serverExit
  const detail = `exit code ${exitCode}${signal ? `, signal ${signal}` : ''}, ${seconds(ms)} after SIGTERM`
  return check('the server exits 0 on SIGTERM', exitCode === 0 ? [] : [serverExit], detail)
}

export function checkInvariants(evidence: Evidence): Check[] {
  return [
    checkNoServerErrors,
    checkNoUnexpectedRefusals,
    checkMeAlwaysAnswers,
    checkGraceWindow,
    checkSingleChain,
    checkSessionEndsExplained,
    checkDenylistCount,
    checkRecovery,
    checkCutFelt,
    checkCleanExit,
  ].map((run) => run(evidence))
}
