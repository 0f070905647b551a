import t from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { PASSWORD, post, problemOf, refresh, registerUser, uniqueEmail } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'
import { CHROME_LINUX, CURL, endOtherSessions, endSession, FIREFOX, listSessions, loginFrom } from './helpers.js'

const { app, clock, database } = await build(t, { MAIL_REQUEST_MIN_RESPONSE_MS: '0', REFRESH_IDLE_TIMEOUT_SECONDS: '3600',
  // Access tokens outlive the idle steps below, so the viewer can look at the list after each.
  ACCESS_TOKEN_TTL_SECONDS: '3000',
})
const db = await openSession(database.url)
t.teardown(() => db.end())

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })

t.test('GET /me/sessions lists live sessions, most recently used first, and marks the caller\'s own', async (t) => {
  const user = await registerUser(app)
  const laptop = await loginFrom(app, user.email, FIREFOX, { rememberMe: true })
  clock.advance(1000)
  const script = await loginFrom(app, user.email, CURL)

  const sid = decodeJwt(laptop.accessToken).payload.sid
  t.type(sid, 'string', 'access tokens carry sid')
  t.equal(sid, decodeJwt(laptop.refreshToken!).payload.fid, 'the sid is the family id of the login')

  let items = await listSessions(app, laptop.accessToken)
  t.same(
    items.map((item) => [item.device, item.current, item.rememberMe]),
    [
      ['curl 8.5.0', false, false],
      ['Firefox 133 on macOS', true, true],
    ],
    'newest use first; the laptop is the caller',
  )
  const firefox = items[1]!
  t.equal(firefox.id, sid)
  t.equal(firefox.userAgent, FIREFOX)
  t.equal(firefox.ip, '127.0.0.1')
  t.equal(firefox.lastUsedAt, firefox.createdAt, 'never refreshed: last used at login')
  t.equal(new Date(firefox.expiresAt).getTime(), (decodeJwt(laptop.refreshToken!).payload.exp as number) * 1000, 'the login\'s expiry')
  const { iat, exp } = decodeJwt(laptop.refreshToken!).payload as { iat: number; exp: number }
  t.equal(exp - iat, 2_592_000, 'of a remember-me login')

  clock.advance(5000)
  const rotated = await refresh(app, laptop.refreshToken!)
  t.equal(rotated.statusCode, 200)
  items = await listSessions(app, script.accessToken)
  t.same(items.map((item) => [item.device, item.current]), [['Firefox 133 on macOS', false], ['curl 8.5.0', true]], 'the refreshed one moves up')
  t.equal(items[0]!.lastUsedAt, new Date(clock.now()).toISOString(), 'last used is the rotation')
  t.equal(decodeJwt(rotated.json<{ accessToken: string }>().accessToken).payload.sid, sid, 'rotation keeps the sid')

  const anonymous = await app.inject({ method: 'GET', url: '/me/sessions' })
  t.equal(anonymous.statusCode, 401)
  t.equal(problemOf(anonymous).code, 'token_missing')
})

t.test('a missing or odd User-Agent still gives a label, and a long one is capped', async (t) => {
  const user = await registerUser(app)
  const bare = await post(app, '/auth/login', { email: user.email, password: PASSWORD }, { 'user-agent': '' })
  const long = await loginFrom(app, user.email, `${CHROME_LINUX} ${'x'.repeat(2000)}\u0007`)
  const items = await listSessions(app, long.accessToken)
  t.equal(bare.statusCode, 200)
  t.same(items.map((item) => item.device).sort(), ['Chrome 131 on Linux', 'Unknown device'])
  const chrome = items.find((item) => item.device.startsWith('Chrome'))!
  t.equal(chrome.userAgent?.length, 512, 'the User-Agent is kept to 512 characters')
  t.notOk(chrome.userAgent?.includes('\u0007'), 'without control characters')
})

t.test('DELETE /me/sessions/{id} ends that session at once; other ids are not found', async (t) => {
  const user = await registerUser(app)
  const stranger = await registerUser(app)
  const phone = await loginFrom(app, user.email, FIREFOX)
  const laptop = await loginFrom(app, user.email, CURL)
  const theirs = await loginFrom(app, stranger.email, CURL)
  const phoneId = decodeJwt(phone.accessToken).payload.sid as string
  const theirId = decodeJwt(theirs.accessToken).payload.sid as string

  const ended = await endSession(app, laptop.accessToken, phoneId)
  t.equal(ended.statusCode, 204)
  const refused = await refresh(app, phone.refreshToken!)
  t.equal(refused.statusCode, 401)
  t.equal(problemOf(refused).code, 'token_revoked', "the ended session's refresh token is revoked")
  t.same((await listSessions(app, laptop.accessToken)).map((item) => item.device), ['curl 8.5.0'], 'the list reflects it at once')

  const again = await endSession(app, laptop.accessToken, phoneId)
  t.equal(again.statusCode, 404, 'an ended session is no longer there to end')
  t.equal(problemOf(again).code, 'not_found')
  const foreign = await endSession(app, laptop.accessToken, theirId)
  t.equal(foreign.statusCode, 404, "another user's session answers as an unknown id does: no oracle")
  t.same(problemOf(foreign), problemOf(await endSession(app, laptop.accessToken, '00000000-0000-7000-8000-000000000000')))
  t.equal((await refresh(app, theirs.refreshToken!)).statusCode, 200, "and the other user's session lives on")
  t.equal((await refresh(app, laptop.refreshToken!)).statusCode, 200, 'as does the caller\'s own')
  t.equal((await endSession(app, 'not a token', phoneId)).statusCode, 401)
})

t.test('DELETE /me/sessions?scope=others ends every session but the caller\'s', async (t) => {
  const user = await registerUser(app)
  const keep = await loginFrom(app, user.email, FIREFOX)
  const others = [await loginFrom(app, user.email, CURL), await loginFrom(app, user.email, CHROME_LINUX)]

  const missing = await app.inject({ method: 'DELETE', url: '/me/sessions', headers: bearer(keep.accessToken) })
  t.equal(missing.statusCode, 400, 'the scope is required: no accidental end-everything')
  t.equal(problemOf(missing).code, 'validation_failed')

  t.equal((await endOtherSessions(app, keep.accessToken)).statusCode, 204)
  for (const other of others) t.equal(problemOf(await refresh(app, other.refreshToken!)).code, 'token_revoked')
  const items = await listSessions(app, keep.accessToken)
  t.same(items.map((item) => [item.device, item.current]), [['Firefox 133 on macOS', true]])
  t.equal((await refresh(app, keep.refreshToken!)).statusCode, 200, "the caller's session goes on")
  t.equal((await endOtherSessions(app, keep.accessToken)).statusCode, 204, 'with nothing left to end, still 204')
})

t.test('every way a session ends shows in the list at once', async (t) => {
  const user = await registerUser(app)
  let viewer = await loginFrom(app, user.email, FIREFOX)
  const count = async () => (await listSessions(app, viewer.accessToken)).length

  const loggedOut = await loginFrom(app, user.email, CURL)
  t.equal(await count(), 2)
  t.equal((await post(app, '/auth/logout', { refreshToken: loggedOut.refreshToken })).statusCode, 204)
  t.equal(await count(), 1, 'logout')

  const replayed = await loginFrom(app, user.email, CURL)
  t.equal((await refresh(app, replayed.refreshToken!)).statusCode, 200)
  clock.advance(11_000)
  t.equal(problemOf(await refresh(app, replayed.refreshToken!)).code, 'token_reused')
  t.equal(await count(), 1, 'reuse detection')

  const idle = await loginFrom(app, user.email, CURL)
  t.equal(await count(), 2)
  clock.advance(1800_000)
  const kept = await refresh(app, viewer.refreshToken!)
  t.equal(kept.statusCode, 200, 'the viewer keeps its own session alive')
  viewer = kept.json()
  clock.advance(1800_000 + 1000)
  t.equal(await count(), 1, 'the idle timeout')
  t.equal(problemOf(await refresh(app, idle.refreshToken!)).code, 'token_expired', 'as refresh sees it')

  await loginFrom(app, user.email, CURL)
  t.equal(await count(), 2)
  t.equal((await post(app, '/auth/logout-all', undefined, bearer(viewer.accessToken))).statusCode, 204)
  t.equal(await count(), 0, 'logout-all, the caller\'s own session included')

  const again = await loginFrom(app, user.email, FIREFOX)
  const changed = await app.inject({
    method: 'POST',
    url: '/me/password',
    payload: { currentPassword: PASSWORD, newPassword: 'a different horse battery staple' },
    headers: bearer(again.accessToken),
  })
  t.equal(changed.statusCode, 204)
  t.equal((await listSessions(app, again.accessToken)).length, 0, 'a password change')

  const [rows] = await db.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM sessions WHERE user_id = ?', [user.id])
  t.ok(Number(rows?.count) >= 6, 'the rows stay until the prune job removes them')
})

t.test('a session expires with its login', async (t) => {
  const user = await registerUser(app)
  const tokens = await loginFrom(app, user.email, FIREFOX)
  let remembered = await loginFrom(app, user.email, CURL, { rememberMe: true })
  // 25 hours of use, a refresh every 50 minutes (inside the idle timeout): past the day a login lasts.
  const statuses = new Set<number>()
  for (let step = 0; step < 30; step++) {
    clock.advance(50 * 60_000)
    const rotated = await refresh(app, remembered.refreshToken!)
    statuses.add(rotated.statusCode)
    if (rotated.statusCode === 200) remembered = rotated.json()
  }
  t.same([...statuses], [200])
  t.equal(problemOf(await refresh(app, tokens.refreshToken!)).code, 'token_expired')
  t.same((await listSessions(app, remembered.accessToken)).map((item) => item.device), ['curl 8.5.0'], 'only the remember-me session is left')
})

t.test('ending one session, raced: concurrent ends and a refresh in flight', async (t) => {
  for (let round = 0; round < 5; round++) {
    const user = await registerUser(app)
    const target = await loginFrom(app, user.email, CURL)
    const a = await loginFrom(app, user.email, FIREFOX)
    const b = await loginFrom(app, user.email, CHROME_LINUX)
    const id = decodeJwt(target.accessToken).payload.sid as string
    const [endA, endB, inFlight] = await Promise.all([
      endSession(app, a.accessToken, id),
      endSession(app, b.accessToken, id),
      refresh(app, target.refreshToken!),
    ])
    t.ok([endA.statusCode, endB.statusCode].includes(204), `round ${round}: one end answers 204`)
    t.ok([204, 404].includes(endA.statusCode) && [204, 404].includes(endB.statusCode), 'the other 204 or 404, never 5xx')
    const [events] = await db.query<{ count: bigint }[]>("SELECT COUNT(*) AS count FROM auth_events WHERE type = 'session_revoked' AND session_id = ?", [id])
    t.equal(Number(events?.count), 1, 'exactly one session_revoked event')
    // The refresh that raced the end may have won its rotation; whatever it got no longer refreshes.
    const next = inFlight.statusCode === 200 ? inFlight.json<{ refreshToken: string }>().refreshToken : target.refreshToken!
    t.equal(problemOf(await refresh(app, next)).code, 'token_revoked', 'after the end answered, the session refreshes no more')
  }
})
