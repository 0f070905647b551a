import { randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { tokenPairOf, type Answer, type ApiClient } from './api-client.js'
import { endsFamily, isSuccess, type RefreshKind, type ResponseRecord, type Route } from './records.js'
import { sessionOf, type SimUser, type SpentToken } from './simulated-users.js'

/** The operation mix: what share of operations each route gets. */
export const MIX: readonly [Route, number][] = [
  ['me', 0.9],
  ['refresh', 0.08],
  ['login', 0.01],
  ['logout', 0.01],
]

export interface WorkloadSettings {
  workers: number
  deadline: number
  graceMs: number
  loginConcurrency: number
  raceShare: number
  replayShare: number
  signal: AbortSignal
}

/** How sessions ended and began again; the rest is in the records. */
export interface SessionCounters {
  ended: Record<string, number>
  relogins: Record<string, number>
  /** Logins of a user who still held a session: that login is abandoned, still live, and never used again. */
  loginsOverLiveSession: number
  /** Users logged in when the run ended: logouts outpacing logins show here. */
  withSessionAtEnd: number
}

/** Spent tokens kept per user for replays; older ones are forgotten. */
const SPENT_KEPT = 6
/** A rotated token is replayed only this long after the grace window, so the server must call it reuse. */
const REPLAY_MARGIN_MS = 2000
const PICK_ATTEMPTS = 64
/** A worker that finds no suitable user sleeps rather than spins: the load generator shares the CPUs. */
const NO_USER_PAUSE_MS = 5

/** At most `limit` calls at once; the rest wait their turn. */
function createGate(limit: number) {
  let active = 0
  const waiting: (() => void)[] = []
  return async function run<T>(work: () => Promise<T>): Promise<T> {
    if (active < limit) active++
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await work()
    } finally {
      // Hand the slot straight to the next waiter, or give it back.
      const next = waiting.shift()
      if (next) next()
      else active--
    }
  }
}

function drawRoute(): Route {
  let roll = Math.random()
  for (const [route, share] of MIX) {
    if (roll < share) return route
    roll -= share
  }
  return 'me'
}

const increment = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

export function runWorkload(api: ApiClient, users: SimUser[], settings: WorkloadSettings, onRecord: (record: ResponseRecord) => void) {
  const counters: Omit<SessionCounters, 'withSessionAtEnd'> = { ended: {}, relogins: {}, loginsOverLiveSession: 0 }
  const loginGate = createGate(settings.loginConcurrency)

  function record(route: Route, answer: Answer, user: SimUser, extra: Partial<ResponseRecord> = {}): void {
    const { status, code, startedAt, endedAt, latencyMs } = answer
    onRecord({ route, startedAt, endedAt, latencyMs, status, code, user: user.index, ...extra })
  }

  function keepSpent(user: SimUser, token: SpentToken): void {
    user.spent.push(token)
    if (user.spent.length > SPENT_KEPT) user.spent.splice(randomInt(SPENT_KEPT), 1)
  }

  function endSession(user: SimUser, why: string, at: number): void {
    const session = user.session
    if (!session) return
    keepSpent(user, { token: session.refreshToken, jti: session.jti, fid: session.fid, spentAt: at, why: 'ended' })
    user.session = undefined
    user.endedBy = why
    increment(counters.ended, why)
  }

  /** A free user; for a login, preferably one who has no session, for anything else one who has. */
  function pickUser(route: Route): SimUser | undefined {
    const wantsSession = route !== 'login'
    let fallback: SimUser | undefined
    for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt++) {
      const user = users[randomInt(users.length)]
      if (!user || user.busy) continue
      if (Boolean(user.session) === wantsSession) return user
      if (route === 'login') fallback ??= user
    }
    return fallback
  }

  async function me(user: SimUser): Promise<void> {
    if (!user.session) return
    record('me', await api.me(user.session.accessToken), user)
  }

  async function login(user: SimUser): Promise<void> {
    // A login whose turn comes after the deadline is not sent: it would only lengthen the run.
    const answer = await loginGate(async () => (Date.now() < settings.deadline ? api.login(user.email, user.password) : undefined))
    if (!answer) return
    const pair = answer.status === 200 ? tokenPairOf(answer) : undefined
    const session = pair ? sessionOf(pair) : undefined
    record('login', answer, user, { successorJti: session?.jti, successorFid: session?.fid })
    if (!session) return
    if (user.session) counters.loginsOverLiveSession++
    else increment(counters.relogins, user.endedBy ?? 'never logged in')
    user.session = session
    user.endedBy = undefined
  }

  async function logout(user: SimUser): Promise<void> {
    const session = user.session
    if (!session) return
    const answer = await api.logout(session.refreshToken)
    record('logout', answer, user, { jti: session.jti, fid: session.fid })
    // A 503 may or may not have committed: keep the session, as a client that cannot tell would.
    if (answer.status === 204) endSession(user, 'logout', answer.endedAt)
    else if (answer.status >= 400 && answer.status < 500) endSession(user, `logout ${answer.status} ${answer.code ?? ''}`, answer.endedAt)
  }

  function replayable(user: SimUser, now: number): SpentToken | undefined {
    const eligible = user.spent.filter(
      (token) => token.why === 'ended' || now - token.spentAt > settings.graceMs + REPLAY_MARGIN_MS,
    )
    return eligible[randomInt(Math.max(1, eligible.length))]
  }

  function chooseRefreshKind(user: SimUser): { kind: RefreshKind; replay?: SpentToken } {
    const roll = Math.random()
    if (roll < settings.replayShare) {
      const replay = replayable(user, Date.now())
      if (replay) return { kind: 'replay', replay }
    }
    return { kind: roll < settings.replayShare + settings.raceShare ? 'race' : 'plain' }
  }

  /**
   * Sends the user's refresh token (twice at once for a race) or a spent one (a replay). A 200 replaces
   * the pair; token_reused or token_revoked for the user's own login ends it; a 503 keeps the old token,
   * because the client cannot know whether the rotation committed: its retry is then either inside the
   * grace window (same successor) or reuse.
   */
  async function refresh(user: SimUser): Promise<void> {
    const session = user.session
    if (!session) return
    const { kind, replay } = chooseRefreshKind(user)
    const presented = replay ?? { token: session.refreshToken, jti: session.jti, fid: session.fid }
    const calls = kind === 'race' ? 2 : 1
    const answers = await Promise.all(Array.from({ length: calls }, () => api.refresh(presented.token)))
    const results = answers.map((answer) => {
      const pair = answer.status === 200 ? tokenPairOf(answer) : undefined
      return { answer, next: pair ? sessionOf(pair) : undefined }
    })
    for (const { answer, next } of results) {
      record('refresh', answer, user, { kind, jti: presented.jti, fid: presented.fid, successorJti: next?.jti, successorFid: next?.fid })
    }
    const ended = results.find(({ answer }) => endsFamily(answer))
    if (ended && presented.fid === session.fid) {
      endSession(user, kind === 'replay' ? `replay: ${ended.answer.code}` : (ended.answer.code ?? 'ended'), ended.answer.endedAt)
      return
    }
    // Any other refusal of the user's own token is a failure the invariants report; retrying it is pointless.
    const refused = kind === 'replay' ? undefined : results.find(({ answer }) => answer.status >= 400 && answer.status < 500)
    if (refused && !results.some(({ next }) => next)) {
      endSession(user, `${refused.answer.status} ${refused.answer.code ?? ''}`, refused.answer.endedAt)
      return
    }
    // A replayed token is never adopted, even if the server wrongly accepted it: the invariants report that.
    const accepted = kind === 'replay' ? undefined : results.find(({ next }) => next)
    if (!accepted?.next) return
    const spentAt = Math.max(...results.map(({ answer }) => (isSuccess(answer) ? answer.endedAt : 0)))
    keepSpent(user, { token: session.refreshToken, jti: session.jti, fid: session.fid, spentAt, why: 'rotated' })
    user.session = accepted.next
  }

  const operations: Record<Route, (user: SimUser) => Promise<void>> = { me, login, logout, refresh }

  async function worker(): Promise<void> {
    while (Date.now() < settings.deadline && !settings.signal.aborted) {
      const route = drawRoute()
      const user = pickUser(route)
      if (!user) {
        await sleep(NO_USER_PAUSE_MS)
        continue
      }
      user.busy = true
      try {
        await operations[route](user)
      } finally {
        user.busy = false
      }
    }
  }

  return Promise.all(Array.from({ length: settings.workers }, worker)).then(() => ({
    ...counters,
    withSessionAtEnd: users.filter((user) => user.session).length,
  }))
}
