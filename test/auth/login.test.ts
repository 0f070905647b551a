import t from 'tap'
import { build } from '../helpers/build.js'
import { cookieLogin, cookieOf, login, me, post, problemOf, registerUser, uniqueEmail } from '../helpers/http.js'

t.test('POST /auth/login', async (t) => {
  const { app, config } = await build(t)
  const user = await registerUser(app)

  t.test('body transport: access and refresh tokens in JSON, no cookie', async (t) => {
    const response = await post(app, '/auth/login', { email: user.email.toUpperCase(), password: user.password })
    t.equal(response.statusCode, 200)
    const body = response.json()
    t.same(Object.keys(body).sort(), ['accessToken', 'expiresIn', 'refreshExpiresIn', 'refreshToken', 'tokenType'])
    t.equal(body.tokenType, 'Bearer')
    t.equal(body.expiresIn, config.jwt.accessTtlSeconds)
    t.equal(body.refreshExpiresIn, config.jwt.refreshTtlSeconds)
    t.equal(cookieOf(response, 'refresh_token'), undefined)
    t.equal((await me(app, body.accessToken)).statusCode, 200)
  })

  t.test('rememberMe selects the longer refresh lifetime', async (t) => {
    const tokens = await login(app, user.email, user.password, { rememberMe: true })
    t.equal(tokens.refreshExpiresIn, config.jwt.rememberMeTtlSeconds)
  })

  t.test('cookie transport: the refresh token only in an HttpOnly, Secure, SameSite=Strict cookie on /auth', async (t) => {
    const response = await post(app, '/auth/login', { email: user.email, password: user.password, transport: 'cookie' })
    t.equal(response.statusCode, 200)
    const body = response.json()
    t.notOk('refreshToken' in body, 'no refresh token in the body')
    t.equal(body.refreshExpiresIn, config.jwt.refreshTtlSeconds)
    const cookie = cookieOf(response, 'refresh_token')
    t.ok(cookie?.value, 'cookie carries the token')
    t.match(cookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' })
    t.equal(cookie?.maxAge, undefined, 'a session cookie without rememberMe')
    t.equal(cookie?.expires, undefined)
  })

  t.test('cookie transport with rememberMe: a persistent cookie with Max-Age = REMEMBER_ME_TTL_SECONDS', async (t) => {
    const response = await post(app, '/auth/login', {
      email: user.email,
      password: user.password,
      transport: 'cookie',
      rememberMe: true,
    })
    t.equal(cookieOf(response, 'refresh_token')?.maxAge, config.jwt.rememberMeTtlSeconds)
  })

  t.test('logging in again in the same browser ends the login its cookie belonged to', async (t) => {
    const oldCookie = await cookieLogin(app, user)
    const second = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: user.password, transport: 'cookie' },
      cookies: { refresh_token: oldCookie },
    })
    t.equal(second.statusCode, 200)
    t.not(cookieOf(second, 'refresh_token')?.value, oldCookie)
    t.equal(problemOf(await post(app, '/auth/refresh', { refreshToken: oldCookie })).code, 'token_revoked')
  })

  t.test('wrong password and unknown email get the same 401 invalid_credentials body', async (t) => {
    const wrong = await post(app, '/auth/login', { email: user.email, password: 'not the password' })
    const unknown = await post(app, '/auth/login', { email: uniqueEmail('ghost'), password: 'not the password' })
    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, 401)
    t.equal(problemOf(wrong).code, 'invalid_credentials')
    t.equal(wrong.body, unknown.body, 'identical bodies')
    t.equal(wrong.headers['www-authenticate'], undefined, 'not a Bearer challenge')
  })

  t.test('validates the body', async (t) => {
    for (const payload of [{ email: user.email }, { email: user.email, password: 'x', transport: 'carrier-pigeon' }, {}]) {
      const response = await post(app, '/auth/login', payload)
      t.equal(response.statusCode, 400)
      t.equal(problemOf(response).code, 'validation_failed')
    }
  })
})
