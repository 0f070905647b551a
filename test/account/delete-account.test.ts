import t from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { PASSWORD, login, me, post, problemOf, refresh, registerUser, uniqueEmail } from '../helpers/http.js'
import { startSmtpServer } from '../helpers/smtp.js'

const deleteMe = (app: Parameters<typeof post>[0], accessToken: string, password: string) =>
  app.inject({ method: 'DELETE', url: '/me', payload: { password }, headers: { authorization: `Bearer ${accessToken}` } })

t.test('DELETE /me removes the account and what belongs to it; its refresh tokens stop at once', async (t) => {
  const smtp = await startSmtpServer(t)
  await smtp.stop() // mail stays queued: deleting the account must delete it too
  const { app, database } = await build(t, { SMTP_URL: smtp.url, MAIL_REQUEST_MIN_RESPONSE_MS: '0' })
  const user = await registerUser(app, uniqueEmail('leaving'))
  const bystander = await registerUser(app, uniqueEmail('staying'))
  const phone = await login(app, user.email)
  const laptop = await login(app, user.email)
  t.equal((await post(app, '/auth/logout', { refreshToken: laptop.refreshToken })).statusCode, 204)
  t.equal((await post(app, '/auth/password/forgot', { email: user.email })).statusCode, 202)

  const wrong = await deleteMe(app, phone.accessToken, 'not the password')
  t.equal(wrong.statusCode, 401)
  t.equal(problemOf(wrong).code, 'invalid_credentials')
  t.equal((await deleteMe(app, phone.accessToken, PASSWORD)).statusCode, 204)

  const refused = await refresh(app, phone.refreshToken!)
  t.equal(refused.statusCode, 401)
  t.equal(problemOf(refused).code, 'token_revoked')
  t.equal(problemOf(await post(app, '/auth/login', { email: user.email, password: PASSWORD })).code, 'invalid_credentials')
  t.equal((await me(app, phone.accessToken)).statusCode, 200, 'an access token already issued lives until exp (README)')
  t.equal((await deleteMe(app, phone.accessToken, PASSWORD)).statusCode, 401, 'a second delete finds no account')

  const session = await openSession(database.url)
  t.teardown(() => session.end())
  for (const table of ['users', 'revoked_tokens', 'account_links', 'mail_outbox']) {
    const [row] = await session.query<{ count: bigint }[]>(`SELECT COUNT(*) AS count FROM ${table} WHERE ${table === 'users' ? 'id' : 'user_id'} = ?`, [user.id])
    t.equal(Number(row?.count), 0, `nothing of the user left in ${table}`)
  }
  const [kept] = await session.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM mail_outbox WHERE user_id = ?', [bystander.id])
  t.equal(Number(kept?.count), 1, "another user's queued mail stays")
  t.equal((await post(app, '/auth/register', { email: user.email, password: PASSWORD })).statusCode, 201, 'the address is free again')
})
