import t from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { PASSWORD, post, problemOf, refresh, registerUser, uniqueEmail } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'
import { linkTokenOf, startSmtpServer } from '../helpers/smtp.js'
import { allEvents, CURL, endSession, eventPage, FIREFOX, loginFrom } from './helpers.js'

const NEW_PASSWORD = 'a different horse battery staple'
const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })

const smtp = await startSmtpServer(t)
const { app, clock, database } = await build(t, {
  SMTP_URL: smtp.url,
  MAIL_REQUEST_MIN_RESPONSE_MS: '0',
  LOGIN_FAILURES_PER_ACCOUNT: "3",
  LOG_LEVEL: process.env.TEST_LOG ?? "silent",
})
const db = await openSession(database.url)
t.teardown(() => db.end())

const countRows = async (sql: string, values: unknown[] = []) => Number((await db.query<{ count: bigint }[]>(sql, values))[0]?.count)

t.test('every change and attempt leaves its event, newest first, with the session, address and device', async (t) => {
  const user = await registerUser(app, uniqueEmail('events'))
  const verify = await smtp.mailTo(user.email, 'Confirm your email address')
  t.equal((await post(app, '/auth/verify-email', { token: linkTokenOf(verify) }, { 'user-agent': FIREFOX })).statusCode, 200)

  t.equal((await post(app, '/auth/login', { email: user.email, password: 'wrong password' }, { 'user-agent': CURL })).statusCode, 401)
  let tokens = await loginFrom(app, user.email, FIREFOX)
  const sid = decodeJwt(tokens.accessToken).payload.sid as string
  const other = await loginFrom(app, user.email, CURL)
  t.equal((await post(app, '/auth/logout', { refreshToken: other.refreshToken }, { 'user-agent': CURL })).statusCode, 204)

  const replayed = await loginFrom(app, user.email, CURL)
  t.equal((await refresh(app, replayed.refreshToken!)).statusCode, 200)
  clock.advance(11_000)
  t.equal(problemOf(await refresh(app, replayed.refreshToken!)).code, 'token_reused')
  const ended = await loginFrom(app, user.email, CURL)
  t.equal((await endSession(app, tokens.accessToken, decodeJwt(ended.accessToken).payload.sid as string)).statusCode, 204)

  const newEmail = uniqueEmail('moved')
  const change = await app.inject({ method: 'POST', url: '/me/email', payload: { newEmail, currentPassword: PASSWORD }, headers: bearer(tokens.accessToken) })
  t.equal(change.statusCode, 202)
  const confirm = await smtp.mailTo(newEmail, 'Confirm your new email address')
  t.equal((await post(app, '/auth/email/confirm', { token: linkTokenOf(confirm) })).statusCode, 200)

  const changed = await app.inject({
    method: 'POST',
    url: '/me/password',
    payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    headers: bearer(tokens.accessToken),
  })
  t.equal(changed.statusCode, 204)
  t.equal((await post(app, '/auth/password/forgot', { email: newEmail })).statusCode, 202)
  const reset = await smtp.mailTo(newEmail, 'Reset your password')
  t.equal((await post(app, '/auth/password/reset', { token: linkTokenOf(reset), newPassword: PASSWORD })).statusCode, 204)
  tokens = await loginFrom(app, newEmail, FIREFOX)
  t.equal((await post(app, '/auth/logout-all', undefined, bearer(tokens.accessToken))).statusCode, 204)
  await app.detachedEvents.settled()

  const events = await allEvents(app, tokens.accessToken)
  t.same(
    events.map((event) => event.type),
    [
      'logout_all',
      'login_succeeded',
      'password_reset',
      'password_reset_requested',
      'password_changed',
      'email_changed',
      'email_change_requested',
      'session_revoked',
      'login_succeeded',
      'refresh_reuse_detected',
      'login_succeeded',
      'session_revoked',
      'login_succeeded',
      'login_succeeded',
      'login_failed',
      'email_verified',
    ],
    'every event, newest first',
  )
  const byType = (type: string) => events.filter((event) => event.type === type)
  t.same(byType('login_failed')[0]?.details, { reason: 'wrong_password' })
  t.equal(byType('login_failed')[0]?.device, 'curl 8.5.0')
  t.equal(byType('email_verified')[0]?.device, 'Firefox 133 on macOS')
  t.equal(byType('password_changed')[0]?.sessionId, sid, 'the session that made the change')
  t.same(byType('session_revoked').map((event) => event.details.reason), ['ended_from_list', 'logout'])
  t.same(byType('email_change_requested')[0]?.details, { newEmail })
  t.ok(events.every((event) => event.ip === '127.0.0.1'), 'every event has the client address')
  t.ok(
    events.every((event, i) => i === 0 || BigInt(event.id) < BigInt(events[i - 1]!.id)),
    'ids strictly decrease',
  )
  t.equal(
    (await smtp.waitFor((mail) => mail.to === newEmail || mail.to === user.email)).length >= 1,
    true,
  )
  const notices = smtp.received.filter((mail) => mail.subject === 'We signed out one of your devices')
  t.equal(notices.length, 1, 'reuse detection mails the user once')
  t.match(notices[0]?.text, /curl 8\.5\.0/, 'naming the device')
})

t.test('a failed login for an unknown address keeps no trace of the address; throttling is recorded once a minute', async (t) => {
  const ghost = uniqueEmail('ghost')
  t.equal((await post(app, '/auth/login', { email: ghost, password: 'whatever it is' })).statusCode, 401)
  const user = await registerUser(app)
  for (let i = 0; i < 3; i++) t.equal((await post(app, '/auth/login', { email: user.email, password: 'wrong password' })).statusCode, 401)
  for (let i = 0; i < 5; i++) t.equal((await post(app, '/auth/login', { email: user.email, password: 'wrong password' })).statusCode, 429)
  clock.advance(61_000)
  t.equal((await post(app, '/auth/login', { email: user.email, password: 'wrong password' })).statusCode, 429)
  await app.detachedEvents.settled()

  const anonymous = await db.query<Record<string, unknown>[]>("SELECT * FROM auth_events WHERE user_id IS NULL AND type = 'login_failed'")
  t.equal(anonymous.length, 1)
  t.notOk(JSON.stringify(anonymous, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)).includes('ghost'), 'no column holds the address')
  t.same(anonymous[0]?.details, { reason: 'unknown_account' })
  t.equal(await countRows("SELECT COUNT(*) AS count FROM auth_events WHERE user_id = ? AND type = 'login_failed'", [user.id]), 3)
  t.equal(
    await countRows("SELECT COUNT(*) AS count FROM auth_events WHERE user_id = ? AND type = 'login_throttled'", [user.id]),
    2,
    'six refusals, two minutes: two events',
  )
})

t.test('an event and its change commit together: when the event cannot be written, nothing changes', async (t) => {
  const user = await registerUser(app)
  const tokens = await loginFrom(app, user.email, CURL)
  await db.query('RENAME TABLE auth_events TO auth_events_away')
  try {
    const logout = await post(app, '/auth/logout', { refreshToken: tokens.refreshToken })
    t.equal(logout.statusCode, 503, 'logout fails as a whole')
    const all = await post(app, '/auth/logout-all', undefined, bearer(tokens.accessToken))
    t.equal(all.statusCode, 503)
    const loginAttempt = await post(app, '/auth/login', { email: user.email, password: PASSWORD })
    t.equal(loginAttempt.statusCode, 503, 'a login whose event cannot be written issues no tokens')
    const failed = await post(app, '/auth/login', { email: user.email, password: 'wrong password' })
    t.equal(failed.statusCode, 401, 'a failed login does not wait on, or fail with, its event')
    await app.detachedEvents.settled()
  } finally {
    await db.query('RENAME TABLE auth_events_away TO auth_events')
  }
  t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200, 'the session was neither logged out nor ended by logout-all')
  t.equal(await countRows('SELECT COUNT(*) AS count FROM sessions WHERE user_id = ?', [user.id]), 1, 'the failed login left no session')
})

t.test('GET /me/events pages through every event once, newest first, while events are added', async (t) => {
  const user = await registerUser(app)
  const tokens = await loginFrom(app, user.email, CURL)
  const at = new Date(clock.now())
  const seed = Array.from({ length: 44 }, () => [user.id, 'login_succeeded', at])
  await db.batch('INSERT INTO auth_events (user_id, type, created_at) VALUES (?, ?, ?)', seed)
  const before = (await db.query<{ id: bigint }[]>('SELECT id FROM auth_events WHERE user_id = ? ORDER BY id DESC', [user.id])).map(
    (row) => String(row.id),
  )
  t.equal(before.length, 45)

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    // Between pages, and concurrently with each, the user logs in again: newer events arrive.
    const [page]: [Awaited<ReturnType<typeof eventPage>>, unknown] = await Promise.all([
      eventPage(app, tokens.accessToken, `?limit=10${cursor ? `&cursor=${cursor}` : ''}`),
      loginFrom(app, user.email, FIREFOX),
    ])
    t.ok(page.items.length <= 10)
    seen.push(...page.items.map((event) => event.id))
    cursor = page.nextCursor
    pages++
  } while (cursor && pages < 20)
  t.equal(new Set(seen).size, seen.length, 'no event twice')
  t.same(before.filter((id) => !seen.includes(id)), [], 'no event that existed at the first page is skipped')
  t.ok(seen.every((id, i) => i === 0 || BigInt(id) < BigInt(seen[i - 1]!)), 'newest first throughout')

  const first = await eventPage(app, tokens.accessToken)
  t.equal(first.items.length, 20, 'the default limit is 20')
  for (const query of ['?limit=0', '?limit=101', '?limit=ten', '?cursor=nonsense', `?cursor=${Buffer.from('e1.0').toString('base64url')}`, '?other=1']) {
    const response = await app.inject({ method: 'GET', url: `/me/events${query}`, headers: bearer(tokens.accessToken) })
    t.equal(response.statusCode, 400, `${query} is refused`)
    t.equal(problemOf(response).code, 'validation_failed')
  }
  const stranger = await registerUser(app)
  const theirs = await loginFrom(app, stranger.email, CURL)
  const last = first.nextCursor!
  const foreignPage = await eventPage(app, theirs.accessToken, `?cursor=${last}`)
  t.ok(foreignPage.items.every((event) => event.type === 'login_succeeded' && !seen.includes(event.id)), "a cursor never shows another user's events")
  t.equal((await app.inject({ method: 'GET', url: '/me/events' })).statusCode, 401)
})

t.test('account deletion: the user\'s events go with the account; one event without an address stays', async (t) => {
  const user = await registerUser(app)
  const tokens = await loginFrom(app, user.email, CURL)
  const deleted = await app.inject({ method: 'DELETE', url: '/me', payload: { password: PASSWORD }, headers: bearer(tokens.accessToken) })
  t.equal(deleted.statusCode, 204)
  t.equal(await countRows('SELECT COUNT(*) AS count FROM auth_events WHERE user_id = ?', [user.id]), 0)
  const rows = await db.query<{ details: object }[]>(
    "SELECT details FROM auth_events WHERE type = 'account_deleted' AND user_id IS NULL AND JSON_VALUE(details, '$.userId') = ?",
    [user.id],
  )
  t.equal(rows.length, 1, 'account_deleted, with the former id only')
  t.same(rows[0]?.details, { userId: user.id })
})

t.test('new-device notices: one per new device, none for a known one, once under concurrent logins', async (t) => {
  const notifying = await build(t, { SMTP_URL: smtp.url, NOTIFY_NEW_DEVICE: 'true' }, { database })
  const user = await registerUser(notifying.app, uniqueEmail('devices'))
  await loginFrom(notifying.app, user.email, FIREFOX)
  await loginFrom(notifying.app, user.email, FIREFOX)
  await Promise.all(Array.from({ length: 4 }, () => loginFrom(notifying.app, user.email, CURL)))
  const subjects = async () =>
    (await db.query<{ subject: string }[]>("SELECT subject FROM mail_outbox WHERE user_id = ? AND kind = 'new_sign_in' ORDER BY id", [user.id])).map(
      (row) => row.subject,
    )
  t.same(await subjects(), ['New sign-in from Firefox 133 on macOS', 'New sign-in from curl 8.5.0'])

  const quiet = await registerUser(app)
  await loginFrom(app, quiet.email, FIREFOX)
  t.equal(await countRows("SELECT COUNT(*) AS count FROM mail_outbox WHERE user_id = ? AND kind = 'new_sign_in'", [quiet.id]), 0, 'off by default')
})

t.test('reuse detection raced: concurrent replays end the family once, with one event and one notice', async (t) => {
  const user = await registerUser(app)
  const tokens = await loginFrom(app, user.email, CURL)
  t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200)
  clock.advance(11_000)
  const answers = await Promise.all(Array.from({ length: 6 }, () => refresh(app, tokens.refreshToken!)))
  t.same([...new Set(answers.map((answer) => problemOf(answer).code))], ['token_reused'])
  t.equal(await countRows("SELECT COUNT(*) AS count FROM auth_events WHERE user_id = ? AND type = 'refresh_reuse_detected'", [user.id]), 1)
  t.equal(await countRows("SELECT COUNT(*) AS count FROM mail_outbox WHERE user_id = ? AND kind = 'refresh_reuse_detected'", [user.id]), 1)
})
