import t, { type Test } from 'tap'
import { createApiClient } from '../../clients/typescript/client.js'
import { build } from '../helpers/build.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'

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

  const logout = await api.POST('/auth/logout', { body: { refreshToken: refreshed.data?.refreshToken } })
  t.equal(logout.response.status, 204)

  const after = await api.POST('/auth/refresh', { body: { refreshToken: refreshed.data?.refreshToken } })
  t.equal(after.response.status, 401)
  t.equal(after.error?.code, 'token_revoked')
  t.equal(after.response.headers.get('content-type'), 'application/problem+json; charset=utf-8')
})
