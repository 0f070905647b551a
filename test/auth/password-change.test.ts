import t from 'tap'
import { build } from '../helpers/build.js'
import { login, post, problemOf, refresh, registerUser, PASSWORD } from '../helpers/http.js'

const NEW_PASSWORD = 'a brand new, much longer passphrase 42'

t.test('POST /me/password', async (t) => {
  const { app, clock } = await build(t, { LOGIN_FAILURES_PER_ACCOUNT: '3' })
  const change = (accessToken: string, body: object) =>
    app.inject({ method: 'POST', url: '/me/password', payload: body, headers: { authorization: `Bearer ${accessToken}` } })

  t.test('changes the password and ends every login of the user', async (t) => {
    const user = await registerUser(app)
    const phone = await login(app, user.email)
    const laptop = await login(app, user.email)
    clock.advance(1)
    const response = await change(phone.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
    t.equal(response.statusCode, 204)
    for (const tokens of [phone, laptop]) t.equal(problemOf(await refresh(app, tokens.refreshToken!)).code, 'token_revoked')
    t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 401, 'the old password is gone')
    clock.advance(1)
    t.equal((await post(app, '/auth/login', { email: user.email, password: NEW_PASSWORD })).statusCode, 200)
  })

  t.test('a wrong current password is 401 invalid_credentials and changes nothing', async (t) => {
    const user = await registerUser(app)
    const tokens = await login(app, user.email)
    const response = await change(tokens.accessToken, { currentPassword: 'not it', newPassword: NEW_PASSWORD })
    t.equal(response.statusCode, 401)
    t.equal(problemOf(response).code, 'invalid_credentials')
    t.equal(response.headers['www-authenticate'], undefined, 'not a token problem')
    t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200, 'logins survive')
    t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 200)
  })

  t.test('wrong current passwords count as failed logins', async (t) => {
    const user = await registerUser(app)
    const tokens = await login(app, user.email)
    for (let i = 0; i < 3; i++) await change(tokens.accessToken, { currentPassword: `guess ${i}`, newPassword: NEW_PASSWORD })
    const blocked = await change(tokens.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD })
    t.equal(blocked.statusCode, 429)
    t.equal(problemOf(blocked).code, 'rate_limited')
  })

  t.test('the new password must be strong, and is validated like at registration', async (t) => {
    const user = await registerUser(app)
    const tokens = await login(app, user.email)
    const weak = await change(tokens.accessToken, { currentPassword: PASSWORD, newPassword: 'password123' })
    t.equal(weak.statusCode, 400)
    t.match(problemOf(weak).errors, [{ path: 'body.newPassword', message: /too easy to guess/ }])
    const short = await change(tokens.accessToken, { currentPassword: PASSWORD, newPassword: 'short' })
    t.equal(short.statusCode, 400)
    t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200, 'nothing was revoked')
  })

  t.test('needs a Bearer access token', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/me/password', payload: { currentPassword: 'a', newPassword: NEW_PASSWORD } })
    t.equal(response.statusCode, 401)
    t.equal(problemOf(response).code, 'token_missing')
  })
})
