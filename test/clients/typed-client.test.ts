import t, { type Test } from 'tap'
import { createApiClient } from '../../clients/typescript/client.js'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'
import { linkTokenOf, startSmtpServer } from '../helpers/smtp.js'

const NEW_PASSWORD = 'a brand new, much longer passphrase 42'

/** API_BASE_URL points the test at a server that is already running (CI's live-server stage). */
async function serverUrl(t: Test): Promise<string> {
  if (process.env.API_BASE_URL) return process.env.API_BASE_URL
  const { app } = await build(t)
  return app.listen({ host: '127.0.0.1', port: 0 })
}

t.test('the generated TypeScript client walks the flow against a listening server', async (t) => {
  const api = createApiClient(await serverUrl(t))
  const email = uniqueEmail('typed')

  const registered = await api.POST('/auth/register', { body: { email, password: PASSWORD } })
  t.equal(registered.response.status, 201)
  t.equal(registered.data?.email, email)

  const duplicate = await api.POST('/auth/register', { body: { email, password: PASSWORD } })
  t.equal(duplicate.error?.code, 'email_taken', 'errors are typed problem documents')

  const login = await api.POST('/auth/login', { body: { email, password: PASSWORD } })
  const tokens = login.data
  if (!tokens?.refreshToken) throw new Error(`login failed: ${JSON.stringify(login.error)}`)

  const me = await api.GET('/me', { headers: { authorization: `Bearer ${tokens.accessToken}` } })
  t.same(me.data, { id: registered.data?.id, email, role: 'user', emailVerified: false })

  const refreshed = await api.POST('/auth/refresh', { body: { refreshToken: tokens.refreshToken } })
  t.ok(refreshed.data?.refreshToken && refreshed.data.refreshToken !== tokens.refreshToken)

  const auth = { headers: { authorization: `Bearer ${refreshed.data?.accessToken}` } }
  const sessions = await api.GET('/me/sessions', auth)
  t.same(sessions.data?.items.map((item) => item.current), [true], 'one session, typed, marked as this one')
  const events = await api.GET('/me/events', { ...auth, params: { query: { limit: 5 } } })
  t.equal(events.data?.items[0]?.type, 'login_succeeded')
  const foreign = await api.DELETE('/me/sessions/{id}', { ...auth, params: { path: { id: '00000000-0000-7000-8000-000000000000' } } })
  t.equal(foreign.error?.code, 'not_found')
  const others = await api.DELETE('/me/sessions', { ...auth, params: { query: { scope: 'others' } } })
  t.equal(others.response.status, 204)

  const logout = await api.POST('/auth/logout', { body: { refreshToken: refreshed.data?.refreshToken } })
  t.equal(logout.response.status, 204)

  const after = await api.POST('/auth/refresh', { body: { refreshToken: refreshed.data?.refreshToken } })
  t.equal(after.response.status, 401)
  t.equal(after.error?.code, 'token_revoked')
  t.equal(after.response.headers.get('content-type'), 'application/problem+json; charset=utf-8')
})

// The link arrives by mail: this needs our own SMTP server (the live-server stage runs newman and curl for it).
const skip = process.env.API_BASE_URL ? 'needs the in-process SMTP server' : false
t.test('the typed client walks forgot → reset, with the link from a real mail', { skip }, async (t) => {
  const smtp = await startSmtpServer(t)
  const { app } = await build(t, { SMTP_URL: smtp.url })
  const api = createApiClient(await app.listen({ host: '127.0.0.1', port: 0 }))
  const email = uniqueEmail('typed-reset')
  await api.POST('/auth/register', { body: { email, password: PASSWORD } })
  const login = await api.POST('/auth/login', { body: { email, password: PASSWORD } })

  const forgot = await api.POST('/auth/password/forgot', { body: { email } })
  t.equal(forgot.response.status, 202)
  const token = linkTokenOf(await smtp.mailTo(email, 'Reset your password'))
  const reset = await api.POST('/auth/password/reset', { body: { token, newPassword: NEW_PASSWORD } })
  t.equal(reset.response.status, 204)
  const again = await api.POST('/auth/password/reset', { body: { token, newPassword: NEW_PASSWORD } })
  t.equal(again.error?.code, 'link_invalid', 'the link worked once')

  const old = await api.POST('/auth/refresh', { body: { refreshToken: login.data?.refreshToken } })
  t.equal(old.error?.code, 'token_revoked', 'the login from before the reset is over')
  const fresh = await api.POST('/auth/login', { body: { email, password: NEW_PASSWORD } })
  t.equal(fresh.response.status, 200, 'the new password logs in')
})

/**
 * An admin to log in as. Against a running server, the one CI's live-server stage made with the user
 * CLI (API_ADMIN_EMAIL, API_ADMIN_PASSWORD); in process, a registered user promoted in SQL, as the README
 * says an operator may.
 */
async function adminServer(t: Test): Promise<{ url: string; admin: { email: string; password: string } }> {
  const { API_BASE_URL, API_ADMIN_EMAIL, API_ADMIN_PASSWORD } = process.env
  if (API_BASE_URL) return { url: API_BASE_URL, admin: { email: API_ADMIN_EMAIL ?? '', password: API_ADMIN_PASSWORD ?? '' } }
  const { app, database } = await build(t)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const email = uniqueEmail('typed-admin')
  await createApiClient(url).POST('/auth/register', { body: { email, password: PASSWORD } })
  const db = await openSession(database.url)
  try {
    await db.query("UPDATE users SET role = 'admin' WHERE email = ?", [email])
  } finally {
    await db.end()
  }
  return { url, admin: { email, password: PASSWORD } }
}

const noAdmin = process.env.API_BASE_URL && !(process.env.API_ADMIN_EMAIL && process.env.API_ADMIN_PASSWORD)
const adminSkip = noAdmin ? 'API_BASE_URL without API_ADMIN_EMAIL and API_ADMIN_PASSWORD: no admin to log in as' : false
t.test('the typed client drives the admin API: find, disable, enable, end sessions, events, delete', { skip: adminSkip }, async (t) => {
  const server = await adminServer(t)
  const api = createApiClient(server.url)
  const adminLogin = await api.POST('/auth/login', { body: { ...server.admin } })
  if (!adminLogin.data) throw new Error(`admin login failed: ${JSON.stringify(adminLogin.error)}`)
  const asAdmin = { headers: { authorization: `Bearer ${adminLogin.data.accessToken}` } }

  const email = uniqueEmail('typed-managed')
  const registered = await api.POST('/auth/register', { body: { email, password: PASSWORD } })
  const id = registered.data?.id
  if (!id) throw new Error(`register failed: ${JSON.stringify(registered.error)}`)
  const login = await api.POST('/auth/login', { body: { email, password: PASSWORD } })
  const tokens = login.data
  if (!tokens?.refreshToken) throw new Error(`login failed: ${JSON.stringify(login.error)}`)

  const refused = await api.GET('/admin/users', { headers: { authorization: `Bearer ${tokens.accessToken}` } })
  t.equal(refused.response.status, 403)
  t.equal(refused.error?.code, 'forbidden', 'a non-admin gets a typed problem document')
  t.equal(refused.data, undefined)

  const found = await api.GET('/admin/users', { ...asAdmin, params: { query: { query: email.toUpperCase(), limit: 5 } } })
  t.same(
    found.data?.items.map(({ id, email, role, disabled, sessions }) => ({ id, email, role, disabled, sessions })),
    [{ id, email, role: 'user', disabled: false, sessions: 1 }],
    'found by the start of the email, any case, with its live session counted',
  )
  t.equal(found.data?.nextCursor, null)

  const one = await api.GET('/admin/users/{id}', { ...asAdmin, params: { path: { id } } })
  t.equal(one.data?.email, email)
  t.equal(one.data?.liveSessions.length, 1, 'the user, with their live sessions')
  t.type(one.data?.lastLoginAt, 'string', 'the login is the last one')

  const disabled = await api.PATCH('/admin/users/{id}', {
    ...asAdmin,
    params: { path: { id } },
    body: { disabled: true, disabledReason: 'typed-client test' },
  })
  t.match(disabled.data, { id, disabled: true, disabledAt: String, disabledReason: 'typed-client test', sessions: 0 })
  const refresh = await api.POST('/auth/refresh', { body: { refreshToken: tokens.refreshToken } })
  t.equal(refresh.response.status, 401)
  t.equal(refresh.error?.code, 'token_revoked', 'disabling ended the session')
  const blocked = await api.POST('/auth/login', { body: { email, password: PASSWORD } })
  t.equal(blocked.response.status, 403)
  t.equal(blocked.error?.code, 'account_disabled')

  const invalid = await api.PATCH('/admin/users/{id}', { ...asAdmin, params: { path: { id } }, body: { disabled: false, disabledReason: 'no' } })
  t.equal(invalid.error?.code, 'validation_failed', 'a reason goes with disabled: true only')
  const enabled = await api.PATCH('/admin/users/{id}', { ...asAdmin, params: { path: { id } }, body: { disabled: false } })
  t.match(enabled.data, { disabled: false, disabledAt: null, sessions: 0 })

  const again = await api.POST('/auth/login', { body: { email, password: PASSWORD } })
  if (!again.data?.refreshToken) throw new Error(`login after enabling failed: ${JSON.stringify(again.error)}`)
  const revoked = await api.POST('/admin/users/{id}/sessions/revoke', { ...asAdmin, params: { path: { id } } })
  t.equal(revoked.response.status, 204)
  const afterRevoke = await api.POST('/auth/refresh', { body: { refreshToken: again.data.refreshToken } })
  t.equal(afterRevoke.error?.code, 'token_revoked', 'ending the sessions revoked the new login too')

  const events = await api.GET('/admin/events', { ...asAdmin, params: { query: { userId: id, limit: 50 } } })
  const items = events.data?.items ?? []
  t.ok(items.length > 0 && items.every((event) => event.userId === id), 'only the events of that user')
  t.equal(items[0]?.type, 'admin_sessions_revoked', 'newest first')
  t.match(items[0]?.details, { actor: 'admin' })
  const updates = await api.GET('/admin/events', { ...asAdmin, params: { query: { userId: id, type: 'admin_user_updated' } } })
  t.same(
    updates.data?.items.map((event) => event.details.disabled),
    [false, true],
    'filtered by type: the enable, then the disable',
  )

  const deleted = await api.DELETE('/admin/users/{id}', { ...asAdmin, params: { path: { id } } })
  t.equal(deleted.response.status, 204)
  const gone = await api.GET('/admin/users/{id}', { ...asAdmin, params: { path: { id } } })
  t.equal(gone.error?.code, 'not_found')
  const deletedAgain = await api.DELETE('/admin/users/{id}', { ...asAdmin, params: { path: { id } } })
  t.equal(deletedAgain.response.status, 404)
})
