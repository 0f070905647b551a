import t from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { login, PASSWORD, post, problemOf, refresh, registerUser, session, uniqueEmail } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'
import { adminFor, adminGet, bearer, deleteUser, patchUser, revokeSessionsOf, type AdminUserItem } from './helpers.js'

const { app, clock, database } = await build(t, { MAIL_REQUEST_MIN_RESPONSE_MS: '0', ACCESS_TOKEN_TTL_SECONDS: '3000' })
const db = await openSession(database.url)
t.teardown(() => db.end())

const countOf = async (sql: string, values: unknown[]) => Number((await db.query<{ count: bigint }[]>(sql, values))[0]!.count)

/** The newest admin event of one type for a user id (in user_id, or in details for a deletion). */
async function adminEvent(type: string, userId: string) {
  const [row] = await db.query<{ userId: string | null; details: string | Record<string, unknown>; ip: string | null }[]>(
    `SELECT user_id AS userId, details, ip FROM auth_events WHERE type = ? AND (user_id = ? OR JSON_VALUE(details, '$.userId') = ?)
     ORDER BY id DESC LIMIT 1`,
    [type, userId, userId],
  )
  if (!row) return null
  return { ...row, details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details }
}

t.test('every admin route refuses anonymous callers (401) and non-admins (403 forbidden), before validating', async (t) => {
  const { tokens } = await session(app)
  const routes = [
    ['GET', '/admin/users'],
    ['GET', '/admin/users?limit=0'],
    ['GET', '/admin/users/some-id'],
    ['PATCH', '/admin/users/some-id'],
    ['POST', '/admin/users/some-id/sessions/revoke'],
    ['DELETE', '/admin/users/some-id'],
    ['GET', '/admin/events?type=nonsense'],
  ] as const
  for (const [method, url] of routes) {
    const anonymous = await app.inject({ method, url, payload: method === 'PATCH' ? {} : undefined })
    t.equal(anonymous.statusCode, 401, `${method} ${url} without a token`)
    const user = await app.inject({ method, url, headers: bearer(tokens.accessToken), payload: method === 'PATCH' ? {} : undefined })
    t.equal(user.statusCode, 403, `${method} ${url} as a user`)
    t.equal(problemOf(user).code, 'forbidden')
  }
})

t.test('admin power is re-read in the database on every request, whatever the token says', async (t) => {
  const admin = await adminFor(app, db)
  t.equal(decodeJwt(admin.tokens.accessToken).payload.role, 'admin', 'the token says admin')
  t.equal((await adminGet(app, admin.tokens.accessToken, '/admin/users')).statusCode, 200)

  await db.query("UPDATE users SET role = 'user' WHERE id = ?", [admin.id])
  const demoted = await adminGet(app, admin.tokens.accessToken, '/admin/users')
  t.equal(demoted.statusCode, 403, 'demoted in the database: refused on the very next request')
  t.equal(problemOf(demoted).code, 'forbidden')

  await db.query("UPDATE users SET role = 'admin', disabled_at = NOW(3) WHERE id = ?", [admin.id])
  t.equal((await adminGet(app, admin.tokens.accessToken, '/admin/users')).statusCode, 403, 'a disabled admin is refused')

  const other = await adminFor(app, db)
  const { tokens: forged } = { tokens: await login(app, (await registerUser(app)).email) }
  t.equal((await adminGet(app, forged.accessToken, '/admin/users')).statusCode, 403)
  // An admin whose own session was ended loses admin power with it, not when the access token expires.
  const out = await post(app, '/auth/logout', { refreshToken: other.tokens.refreshToken })
  t.equal(out.statusCode, 204)
  t.equal((await adminGet(app, other.tokens.accessToken, '/admin/users')).statusCode, 403, 'a logged-out admin session is refused')
})

t.test('GET /admin/users finds by email prefix in any case, pages without repeats, counts live sessions', async (t) => {
  const admin = await adminFor(app, db)
  const tag = `find${process.pid}x${Date.now() % 100000}`
  const emails = Array.from({ length: 5 }, (_, i) => `${tag}.${i}@example.com`)
  for (const email of emails) await registerUser(app, email)
  await login(app, emails[2]!)
  await login(app, emails[2]!)
  // A wildcard in the query is literal: "_" must not match any character.
  await registerUser(app, `${tag.slice(0, -1)}_${tag.slice(-1)}.odd@example.com`)

  const seen: AdminUserItem[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const query: string = `/admin/users?query=${tag.toUpperCase()}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
    const response = await adminGet(app, admin.tokens.accessToken, query)
    t.equal(response.statusCode, 200)
    const page = response.json<{ items: AdminUserItem[]; nextCursor: string | null }>()
    seen.push(...page.items)
    cursor = page.nextCursor
    pages++
  } while (cursor && pages < 10)
  t.same(seen.map((user) => user.email), emails, 'all five, in email order, once each, over three pages')
  t.equal(pages, 3)
  const busy = seen.find((user) => user.email === emails[2])!
  t.equal(busy.sessions, 2, 'two live sessions')
  t.equal(busy.lastLoginAt, new Date(clock.now()).toISOString())
  t.same(
    { role: busy.role, emailVerified: busy.emailVerified, disabled: busy.disabled, sessions: seen[0]!.sessions, lastLoginAt: seen[0]!.lastLoginAt },
    { role: 'user', emailVerified: false, disabled: false, sessions: 0, lastLoginAt: null },
  )
  t.notOk('passwordHash' in busy, 'never the hash')

  for (const bad of ['limit=0', 'limit=101', 'cursor=bm90LWEtY3Vyc29y', 'unknown=1']) {
    const response = await adminGet(app, admin.tokens.accessToken, `/admin/users?${bad}`)
    t.equal(response.statusCode, 400, bad)
    t.equal(problemOf(response).code, 'validation_failed')
  }
})

t.test('GET /admin/users/{id}: the user with their live sessions; 404 for an unknown id', async (t) => {
  const admin = await adminFor(app, db)
  const { user, tokens } = await session(app)
  const response = await adminGet(app, admin.tokens.accessToken, `/admin/users/${user.id}`)
  t.equal(response.statusCode, 200)
  const body = response.json<AdminUserItem & { liveSessions: { id: string; device: string }[] }>()
  t.equal(body.email, user.email)
  t.same(body.liveSessions.map((s) => s.id), [decodeJwt(tokens.accessToken).payload.sid])
  const missing = await adminGet(app, admin.tokens.accessToken, '/admin/users/00000000-0000-0000-0000-000000000000')
  t.equal(missing.statusCode, 404)
  t.equal(problemOf(missing).code, 'not_found')
})

t.test('disabling ends every session at once and refuses logins; enabling brings no session back', async (t) => {
  const admin = await adminFor(app, db)
  const { user, tokens } = await session(app)

  const disabled = await patchUser(app, admin.tokens.accessToken, user.id, { disabled: true, disabledReason: 'reported stolen' })
  t.equal(disabled.statusCode, 200)
  t.match(disabled.json(), { disabled: true, disabledReason: 'reported stolen', sessions: 0 })

  const refused = await refresh(app, tokens.refreshToken!)
  t.equal(refused.statusCode, 401)
  t.equal(problemOf(refused).code, 'token_revoked', 'refresh: 401 token_revoked')
  const right = await post(app, '/auth/login', { email: user.email, password: PASSWORD })
  t.equal(right.statusCode, 403)
  t.equal(problemOf(right).code, 'account_disabled', 'the right password: 403 account_disabled')
  const wrong = await post(app, '/auth/login', { email: user.email, password: 'not the password at all' })
  t.equal(wrong.statusCode, 401, 'a wrong password learns nothing about the account: 401')

  const event = await adminEvent('admin_user_updated', user.id)
  t.match(event?.details, { actor: 'admin', actorId: admin.id, disabled: true, reason: 'reported stolen' }, 'the event names the acting admin')
  t.equal(event?.ip, '127.0.0.1')

  const enabled = await patchUser(app, admin.tokens.accessToken, user.id, { disabled: false })
  t.equal(enabled.statusCode, 200)
  t.match(enabled.json(), { disabled: false, disabledReason: null })
  t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 401, 'the old session stays ended')
  t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 200, 'a new login works')

  const same = await patchUser(app, admin.tokens.accessToken, user.id, { disabled: false })
  t.equal(same.statusCode, 200, 'a change to what already is: 200')
  t.equal(await countOf("SELECT COUNT(*) AS count FROM auth_events WHERE type = 'admin_user_updated' AND user_id = ?", [user.id]), 2, 'and no event')
})

t.test('a login in flight while the account is disabled gets tokens that never refresh', async (t) => {
  const admin = await adminFor(app, db)
  for (let round = 0; round < 20; round++) {
    const user = await registerUser(app)
    const [loginResponse, patched] = await Promise.all([
      post(app, '/auth/login', { email: user.email, password: PASSWORD }),
      patchUser(app, admin.tokens.accessToken, user.id, { disabled: true }),
    ])
    t.equal(patched.statusCode, 200)
    if (loginResponse.statusCode === 200) {
      const late = await refresh(app, loginResponse.json<{ refreshToken: string }>().refreshToken)
      t.equal(late.statusCode, 401, `round ${round}: the login that raced the disable does not refresh`)
    } else {
      t.equal(problemOf(loginResponse).code, 'account_disabled', `round ${round}: refused (${loginResponse.statusCode} ${loginResponse.body.slice(0, 200)})`)
    }
  }
})

t.test('a role change reaches the user at their next refresh, and admin routes at once', async (t) => {
  const admin = await adminFor(app, db)
  const { user, tokens } = await session(app)
  const promoted = await patchUser(app, admin.tokens.accessToken, user.id, { role: 'admin' })
  t.equal(promoted.statusCode, 200)
  t.equal(promoted.json().role, 'admin')
  t.equal(decodeJwt(tokens.accessToken).payload.role, 'user', 'the old access token still says user')
  const rotated = await refresh(app, tokens.refreshToken!)
  const fresh = rotated.json<{ accessToken: string; refreshToken: string }>()
  t.equal(decodeJwt(fresh.accessToken).payload.role, 'admin', 'the next refresh carries the new role')
  t.equal((await adminGet(app, fresh.accessToken, '/admin/users')).statusCode, 200)
  t.match((await adminEvent('admin_user_updated', user.id))?.details, { role: 'admin', previousRole: 'user', actorId: admin.id })

  t.equal((await patchUser(app, admin.tokens.accessToken, user.id, { role: 'user' })).statusCode, 200)
  t.equal((await adminGet(app, fresh.accessToken, '/admin/users')).statusCode, 403, 'demoted: refused at once with the admin token')
})

t.test('PATCH refuses bad bodies and unknown users', async (t) => {
  const admin = await adminFor(app, db)
  const { user } = await session(app)
  for (const body of [{}, { role: 'root' }, { disabled: 'yes' }, { disabled: false, disabledReason: 'x' }, { other: 1 }, { disabledReason: 'x'.repeat(201) }]) {
    const response = await patchUser(app, admin.tokens.accessToken, user.id, body)
    t.equal(response.statusCode, 400, JSON.stringify(body).slice(0, 60))
    t.equal(problemOf(response).code, 'validation_failed')
  }
  const missing = await patchUser(app, admin.tokens.accessToken, '00000000-0000-0000-0000-000000000000', { role: 'admin' })
  t.equal(missing.statusCode, 404)
  t.equal(problemOf(missing).code, 'not_found')
})

t.test('POST /admin/users/{id}/sessions/revoke ends every session of the user', async (t) => {
  const admin = await adminFor(app, db)
  const { user, tokens } = await session(app)
  const second = await login(app, user.email)
  const revoked = await revokeSessionsOf(app, admin.tokens.accessToken, user.id)
  t.equal(revoked.statusCode, 204)
  for (const token of [tokens.refreshToken!, second.refreshToken!]) {
    const response = await refresh(app, token)
    t.equal(problemOf(response).code, 'token_revoked')
  }
  t.equal((await adminGet(app, admin.tokens.accessToken, `/admin/users/${user.id}`)).json().sessions, 0)
  t.match((await adminEvent('admin_sessions_revoked', user.id))?.details, { actor: 'admin', actorId: admin.id })
  t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 200, 'the account itself is untouched')
  t.equal((await revokeSessionsOf(app, admin.tokens.accessToken, '00000000-0000-0000-0000-000000000000')).statusCode, 404)
})

t.test('DELETE /admin/users/{id} deletes the account and what belongs to it', async (t) => {
  const admin = await adminFor(app, db)
  const { user, tokens } = await session(app)
  t.equal((await deleteUser(app, admin.tokens.accessToken, user.id)).statusCode, 204)
  t.equal(await countOf('SELECT COUNT(*) AS count FROM users WHERE id = ?', [user.id]), 0)
  t.equal(await countOf('SELECT COUNT(*) AS count FROM sessions WHERE user_id = ?', [user.id]), 0, 'its sessions went with it')
  t.equal(problemOf(await refresh(app, tokens.refreshToken!)).code, 'token_revoked')
  const event = await adminEvent('admin_user_deleted', user.id)
  t.equal(event?.userId, null, 'the event outlives the account, holding no address')
  t.match(event?.details, { userId: user.id, actorId: admin.id })
  t.equal((await deleteUser(app, admin.tokens.accessToken, user.id)).statusCode, 404, 'a second delete: 404')
})

t.test('the last enabled admin cannot be demoted, disabled or deleted; two concurrent demotions: exactly one wins', async (t) => {
  // This database's only admins are the ones this test makes: demote every other first.
  await db.query("UPDATE users SET role = 'user' WHERE role = 'admin'")
  const first = await adminFor(app, db)
  for (const [what, call] of [
    ['demote', () => patchUser(app, first.tokens.accessToken, first.id, { role: 'user' })],
    ['disable', () => patchUser(app, first.tokens.accessToken, first.id, { disabled: true })],
    ['delete', () => deleteUser(app, first.tokens.accessToken, first.id)],
  ] as const) {
    const response = await call()
    t.equal(response.statusCode, 409, `${what} the last admin`)
    t.equal(problemOf(response).code, 'last_admin')
  }

  for (let round = 0; round < 5; round++) {
    const second = await adminFor(app, db)
    // Each demotes the other at the same moment: without the lock, both would see two admins and win.
    const answers = await Promise.all([
      patchUser(app, first.tokens.accessToken, second.id, { role: 'user' }),
      patchUser(app, second.tokens.accessToken, first.id, { role: 'user' }),
    ])
    const statuses = answers.map((answer) => answer.statusCode).sort()
    t.ok(
      JSON.stringify(statuses) === '[200,403]' || JSON.stringify(statuses) === '[200,409]',
      `round ${round}: one demotion wins; the other is refused (409, or 403 when its caller was demoted first): ${statuses}`,
    )
    t.equal(await countOf("SELECT COUNT(*) AS count FROM users WHERE role = 'admin' AND disabled_at IS NULL", []), 1, 'one admin is left')
    // Put the pair back: the survivor stays "first".
    const survivor = answers[0]!.statusCode === 200 ? first : second
    if (survivor !== first) Object.assign(first, survivor)
  }

  // A deletion racing a disable of the two admins: one of them stays enabled.
  const other = await adminFor(app, db)
  const answers = await Promise.all([deleteUser(app, first.tokens.accessToken, other.id), patchUser(app, other.tokens.accessToken, first.id, { disabled: true })])
  t.equal(answers.filter((answer) => answer.statusCode === 204 || answer.statusCode === 200).length, 1, 'one of delete and disable wins')
  t.equal(await countOf("SELECT COUNT(*) AS count FROM users WHERE role = 'admin' AND disabled_at IS NULL", []), 1)
})

t.test('GET /admin/events lists every user\'s events, filtered by user and type, in pages', async (t) => {
  const admin = await adminFor(app, db)
  const { user, tokens } = await session(app)
  await login(app, user.email)
  await post(app, '/auth/logout', { refreshToken: tokens.refreshToken })

  const all = await adminGet(app, admin.tokens.accessToken, `/admin/events?userId=${user.id}`)
  t.equal(all.statusCode, 200)
  const types = all.json<{ items: { type: string; userId: string }[] }>().items.map((item) => item.type)
  t.same(types, ['session_revoked', 'login_succeeded', 'login_succeeded'], 'newest first')
  t.ok(all.json<{ items: { userId: string }[] }>().items.every((item) => item.userId === user.id))

  const logins = await adminGet(app, admin.tokens.accessToken, `/admin/events?userId=${user.id}&type=login_succeeded&limit=1`)
  const first = logins.json<{ items: { id: string }[]; nextCursor: string }>()
  t.equal(first.items.length, 1)
  const rest = await adminGet(app, admin.tokens.accessToken, `/admin/events?userId=${user.id}&type=login_succeeded&limit=1&cursor=${first.nextCursor}`)
  const second = rest.json<{ items: { id: string }[]; nextCursor: string | null }>()
  t.equal(second.items.length, 1)
  t.ok(BigInt(second.items[0]!.id) < BigInt(first.items[0]!.id), 'the next page is older')
  t.equal(second.nextCursor, null)

  const everyone = await adminGet(app, admin.tokens.accessToken, '/admin/events?type=login_succeeded&limit=100')
  t.ok(new Set(everyone.json<{ items: { userId: string }[] }>().items.map((item) => item.userId)).size > 1, 'without userId: every user')
  t.equal((await adminGet(app, admin.tokens.accessToken, '/admin/events?type=nonsense')).statusCode, 400)
})

t.test('admin routes count against a budget of their own', async (t) => {
  const limited = await build(t, { ADMIN_REQUESTS_PER_MINUTE: '3', AUTH_REQUESTS_PER_MINUTE: '1000' })
  const limitedDb = await openSession(limited.database.url)
  t.teardown(() => limitedDb.end())
  const admin = await adminFor(limited.app, limitedDb)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await adminGet(limited.app, admin.tokens.accessToken, '/admin/users')).statusCode)
  t.same(statuses, [200, 200, 200, 429])
  t.equal((await post(limited.app, '/auth/login', { email: admin.email, password: PASSWORD })).statusCode, 200, '/auth has its own budget')
  t.equal((await limited.app.inject({ method: 'GET', url: '/me', headers: bearer(admin.tokens.accessToken) })).statusCode, 200)
})

t.test('an account made by npm run user:create can log in; its address counts as verified', async (t) => {
  const created = await app.admin.createUser({ kind: 'cli' }, { email: `  ${uniqueEmail('made').toUpperCase()} `, password: PASSWORD, role: 'admin' })
  t.equal(created.role, 'admin')
  t.equal(created.emailVerified, true)
  t.equal(created.email, created.email.toLowerCase(), 'normalised like registration')
  const tokens = await login(app, created.email)
  t.equal((await adminGet(app, tokens.accessToken, '/admin/users')).statusCode, 200)
  t.match((await adminEvent('admin_user_created', created.id))?.details, { actor: 'cli', actorId: null, role: 'admin' })
  await t.rejects(app.admin.createUser({ kind: 'cli' }, { email: created.email, password: PASSWORD, role: 'user' }), { code: 'email_taken' })
  await t.rejects(app.admin.createUser({ kind: 'cli' }, { email: uniqueEmail(), password: 'password', role: 'user' }), { name: 'WeakPasswordError' })
})
