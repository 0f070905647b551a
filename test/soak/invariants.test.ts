// The soak's invariants over a small, hand-written run: the healthy story passes every check, and each
// way of breaking it fails the check that should catch it. Nothing here needs a server or a database.
import t from 'tap'
import { checkInvariants, type Check, type Evidence } from './invariants.js'
import type { ResponseRecord, Route } from './records.js'
import type { DenylistRow } from './soak-database.js'

const T0 = Date.UTC(2026, 10, 25, 9)
const at = (ms: number) => T0 + ms

function answer(route: Route, startMs: number, status: number, extra: Partial<ResponseRecord> = {}): ResponseRecord {
  return { route, startedAt: at(startMs), endedAt: at(startMs + 20), latencyMs: 20, status, user: 0, ...extra }
}

const row = (id: string, scope: DenylistRow['scope'], reason: string, revokedMs: number, successorJti: string | null = null): DenylistRow => ({
  id,
  scope,
  reason,
  successorJti,
  revokedAt: at(revokedMs),
})

/**
 * Family f1 (from setup) rotates j0 -> j1, two tabs rotate j1 -> j2, the refresh of j2 at the cut
 * answers 503 but commits j2 -> j3, and its retry after the restore, inside the grace window, gets j3.
 * Family g1's refresh at the cut also commits; its retry comes after the window: token_reused. A login
 * starts f2, which logs out; replays of its token and of j0 are refused.
 */
function healthyRun(): Evidence {
  const records: ResponseRecord[] = [
    answer('me', 500, 200),
    answer('refresh', 1000, 200, { kind: 'plain', jti: 'j0', fid: 'f1', successorJti: 'j1', successorFid: 'f1' }),
    answer('refresh', 2000, 200, { kind: 'race', jti: 'j1', fid: 'f1', successorJti: 'j2', successorFid: 'f1' }),
    answer('refresh', 2001, 200, { kind: 'race', jti: 'j1', fid: 'f1', successorJti: 'j2', successorFid: 'f1' }),
    answer('login', 3000, 200, { successorJti: 'k0', successorFid: 'f2' }),
    answer('logout', 4000, 204, { jti: 'k0', fid: 'f2' }),
    answer('refresh', 5000, 401, { kind: 'replay', code: 'token_revoked', jti: 'k0', fid: 'f2' }),
    answer('refresh', 10_200, 503, { kind: 'plain', code: 'service_unavailable', jti: 'h0', fid: 'g1' }),
    answer('refresh', 10_500, 503, { kind: 'plain', code: 'service_unavailable', jti: 'j2', fid: 'f1' }),
    answer('me', 12_000, 200),
    answer('refresh', 15_000, 200, { kind: 'plain', jti: 'j2', fid: 'f1', successorJti: 'j3', successorFid: 'f1' }),
    answer('login', 16_000, 200, { successorJti: 'm0', successorFid: 'f3' }),
    answer('refresh', 27_000, 401, { kind: 'replay', code: 'token_reused', jti: 'j0', fid: 'f1' }),
    answer('refresh', 25_000, 401, { kind: 'plain', code: 'token_reused', jti: 'h0', fid: 'g1' }),
    answer('me', 29_000, 200),
  ]
  const denylist = [
    row('j0', 'token', 'rotated', 1005, 'j1'),
    row('j1', 'token', 'rotated', 2005, 'j2'),
    row('f2', 'family', 'logout', 4005),
    row('h0', 'token', 'rotated', 10_210, 'h1'),
    row('j2', 'token', 'rotated', 10_510, 'j3'),
    row('f1', 'family', 'reuse_detected', 27_005),
    row('g1', 'family', 'reuse_detected', 25_005),
  ]
  return {
    records,
    window: { startedAt: at(0), cutAt: at(10_000), restoredAt: at(14_000), endedAt: at(30_000) },
    graceMs: 10_000,
    setupSessions: [
      { jti: 'j0', fid: 'f1' },
      { jti: 'h0', fid: 'g1' },
    ],
    denylist,
    serverExit: { exitCode: 0, signal: null, ms: 120 },
  }
}

const failed = (checks: Check[]) => checks.filter((check) => !check.ok).map((check) => check.name)
const named = (checks: Check[], start: string) => checks.find((check) => check.name.startsWith(start))

t.test('the healthy run passes every check, and counts what it saw', async (t) => {
  const checks = checkInvariants(healthyRun())
  t.same(failed(checks), [])
  t.match(named(checks, 'revoked_tokens')?.detail, /^7 rows = 4 rotations \+ 3 family revocations \(logouts: 1, reuse detections: 2\)/)
  t.match(named(checks, 'no session lost')?.detail, /^sessions ended: 1 \(1× token_reused\), each after a 503/)
  t.match(named(checks, 'recovery')?.detail, /first DB-bound success 1\.0 s after the restore/)
})

/** Applies `breakIt` to a healthy run and returns the names of the checks that fail. */
function failuresAfter(breakIt: (run: Evidence) => void): string[] {
  const run = healthyRun()
  breakIt(run)
  return failed(checkInvariants(run))
}

const push = (run: Evidence, ...records: ResponseRecord[]) => run.records.push(...records)

t.test('each way of breaking the run fails the check meant to catch it', async (t) => {
  const cases: [string, string, (run: Evidence) => void][] = [
    ['a 500 outside the cut', 'no 5xx', (run) => push(run, answer('login', 6000, 500, { code: 'internal_error' }))],
    ['a dropped connection', 'no 5xx', (run) => push(run, answer('me', 6000, 0, { code: 'ECONNRESET' }))],
    ['a login refused', 'no 4xx', (run) => push(run, answer('login', 6000, 401, { code: 'invalid_credentials' }))],
    ['a rate limit', 'no 4xx', (run) => push(run, answer('logout', 6000, 429, { code: 'rate_limited', jti: 'm0', fid: 'f3' }))],
    [
      'a good refresh token refused as invalid',
      'no 4xx',
      (run) => push(run, answer('refresh', 6000, 401, { kind: 'plain', code: 'token_invalid', jti: 'j1', fid: 'f1' })),
    ],
    ['a 503 on /me during the cut', 'GET /me', (run) => push(run, answer('me', 11_000, 503, { code: 'service_unavailable' }))],
    ['a /me refused', 'GET /me', (run) => push(run, answer('me', 6000, 401, { code: 'token_invalid' }))],
    [
      'a token accepted again after the window',
      'no refresh token accepted twice',
      (run) => push(run, answer('refresh', 13_500, 200, { kind: 'plain', jti: 'j1', fid: 'f1', successorJti: 'j2' })),
    ],
    [
      'a retry accepted past the window of a rotation the 503 had committed',
      'no refresh token accepted twice',
      (run) => {
        const retry = run.records.find((record) => record.jti === 'j2' && record.status === 200)
        if (retry) Object.assign(retry, { startedAt: at(22_000), endedAt: at(22_020) })
      },
    ],
    [
      'a replay accepted',
      'no refresh token accepted twice',
      (run) => push(run, answer('refresh', 28_000, 200, { kind: 'replay', jti: 'j3', fid: 'f9', successorJti: 'j4' })),
    ],
    [
      'revoked_at three hours off (a time-zone mix-up)',
      'no refresh token accepted twice',
      (run) => {
        const rotation = run.denylist.find((entry) => entry.id === 'j1')
        if (rotation) rotation.revokedAt += 3 * 3_600_000
      },
    ],
    [
      'the database and the client disagree on a successor',
      'no family with two live branches',
      (run) => {
        const rotation = run.denylist.find((entry) => entry.id === 'j1')
        if (rotation) rotation.successorJti = 'j2-other'
      },
    ],
    [
      'a logged-out family refreshed',
      'no family with two live branches',
      (run) => {
        push(run, answer('refresh', 7000, 200, { kind: 'plain', jti: 'k0', fid: 'f2', successorJti: 'k1' }))
        run.denylist.push(row('k0', 'token', 'rotated', 7005, 'k1'))
      },
    ],
    [
      'a token that no login issued',
      'no family with two live branches',
      (run) => {
        push(run, answer('refresh', 7000, 200, { kind: 'plain', jti: 'x0', fid: 'f9', successorJti: 'x1' }))
        run.denylist.push(row('x0', 'token', 'rotated', 7005, 'x1'))
      },
    ],
    [
      'token_reused without a 503 before it',
      'no session lost',
      (run) => {
        run.records = run.records.filter((record) => !(record.jti === 'h0' && record.status === 503))
      },
    ],
    ['a rotation missing from revoked_tokens', 'revoked_tokens', (run) => run.denylist.splice(0, 1)],
    ['a row nobody asked for', 'revoked_tokens', (run) => run.denylist.push(row('stranger', 'family', 'logout', 8000))],
    [
      'a 503 six seconds after the restore',
      'recovery',
      (run) => push(run, answer('logout', 19_900, 503, { code: 'service_unavailable', jti: 'm0', fid: 'f3' })),
    ],
    [
      'no success until six seconds after the restore',
      'recovery',
      (run) => {
        for (const record of run.records.filter((record) => record.startedAt >= at(14_000) && record.startedAt < at(20_000))) {
          record.startedAt += 6000
          record.endedAt += 6000
        }
      },
    ],
    [
      'a cut nobody noticed',
      'the database cut was felt',
      (run) => {
        run.records = run.records.filter((record) => record.status !== 503)
      },
    ],
    ['an unclean exit', 'the server exits 0', (run) => Object.assign(run.serverExit, { exitCode: 1 })],
  ]
  for (const [story, check, breakIt] of cases) {
    const failures = failuresAfter(breakIt)
    t.ok(
      failures.some((name) => name.startsWith(check)),
      `${story}: "${check}" fails (failed: ${failures.join('; ') || 'none'})`,
    )
  }
})

t.test('a 503 that committed is matched by id, not silently absorbed', async (t) => {
  const run = healthyRun()
  // A logout at the cut that answered 503 but had written its row.
  push(run, answer('logout', 11_000, 503, { code: 'service_unavailable', jti: 'm9', fid: 'f9' }))
  run.denylist.push(row('f9', 'family', 'logout', 11_010))
  const checks = checkInvariants(run)
  t.same(failed(checks), [])
  t.match(named(checks, 'revoked_tokens')?.detail, /\+ 1 of the 1 rows that requests answered 503 might have written/)
})
