import t from 'tap'
import { build } from '../helpers/build.js'
import { cookieLogin, cookieOf, login, post, postWithCookie, problemOf, refresh, registerUser, session } from '../helpers/http.js'

t.test('POST /auth/logout', async (t) => {
  const { app, config, clock } = await build(t)

  t.test('revokes the family: neither the token nor its successors refresh any more', async (t) => {
    const { tokens } = await session(app)
    const successor = (await refresh(app, tokens.refreshToken!)).json()
    const response = await post(app, '/auth/logout', { refreshToken: successor.refreshToken })
    t.equal(response.statusCode, 204)
    t.equal(response.body, '')
    const cleared = cookieOf(response, 'refresh_token')
    t.equal(cleared?.value, '', 'clears the cookie')
    t.ok(cleared?.expires && cleared.expires.getTime() < Date.now(), 'with an expiry in the past')
    for (const token of [tokens.refreshToken, successor.refreshToken]) {
      const after = await refresh(app, token)
      t.equal(after.statusCode, 401)
      t.equal(problemOf(after).code, 'token_revoked')
    }
  })

  t.test('is idempotent: logging out a revoked, rotated or expired token again answers 204', async (t) => {
    const { tokens } = await session(app)
    t.equal((await post(app, '/auth/logout', { refreshToken: tokens.refreshToken })).statusCode, 204)
    t.equal((await post(app, '/auth/logout', { refreshToken: tokens.refreshToken })).statusCode, 204)

    const other = await session(app)
    await refresh(app, other.tokens.refreshToken!)
    t.equal((await post(app, '/auth/logout', { refreshToken: other.tokens.refreshToken })).statusCode, 204, 'rotated')

    const old = await session(app)
    clock.advance((config.jwt.refreshTtlSeconds + 3600) * 1000)
    t.equal((await post(app, '/auth/logout', { refreshToken: old.tokens.refreshToken })).statusCode, 204, 'expired')
  })

  t.test('refuses what is not our refresh token: 401', async (t) => {
    const { tokens } = await session(app)
    const forged = await post(app, '/auth/logout', { refreshToken: tokens.accessToken })
    t.equal(forged.statusCode, 401)
    t.equal(problemOf(forged).code, 'token_invalid')
    const missing = await post(app, '/auth/logout', {})
    t.equal(missing.statusCode, 401)
    t.equal(problemOf(missing).code, 'token_missing')
  })

  t.test('with the cookie: needs X-Requested-With, then revokes and clears the cookie', async (t) => {
    const cookie = await cookieLogin(app, await registerUser(app))
    const refused = await postWithCookie(app, '/auth/logout', cookie, null)
    t.equal(refused.statusCode, 403)
    t.equal(problemOf(refused).code, 'csrf_failed')
    const response = await postWithCookie(app, '/auth/logout', cookie)
    t.equal(response.statusCode, 204)
    t.equal(cookieOf(response, 'refresh_token')?.value, '')
    t.equal(problemOf(await refresh(app, cookie)).code, 'token_revoked')
  })
})

t.test('POST /auth/logout-all', async (t) => {
  const { app, clock } = await build(t)

  t.test('revokes every refresh token issued so far; later logins work', async (t) => {
    const user = await registerUser(app)
    const phone = await login(app, user.email)
    const laptop = await login(app, user.email)
    const rotated = (await refresh(app, laptop.refreshToken!)).json()
    clock.advance(1)

    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: { authorization: `Bearer ${phone.accessToken}` },
    })
    t.equal(response.statusCode, 204)
    for (const token of [phone.refreshToken, laptop.refreshToken, rotated.refreshToken]) {
      t.equal(problemOf(await refresh(app, token)).code, 'token_revoked')
    }

    clock.advance(1)
    const later = await login(app, user.email)
    t.equal((await refresh(app, later.refreshToken!)).statusCode, 200, 'a login after logout-all is unaffected')
  })

  t.test('leaves other users alone', async (t) => {
    const alice = await session(app)
    const bob = await session(app)
    clock.advance(1)
    await app.inject({ method: 'POST', url: '/auth/logout-all', headers: { authorization: `Bearer ${alice.tokens.accessToken}` } })
    t.equal((await refresh(app, bob.tokens.refreshToken!)).statusCode, 200)
  })

  t.test('needs a Bearer access token: 401 with a challenge', async (t) => {
    const { tokens } = await session(app)
    const missing = await app.inject({ method: 'POST', url: '/auth/logout-all' })
    t.equal(missing.statusCode, 401)
    t.equal(problemOf(missing).code, 'token_missing')
    t.equal(missing.headers['www-authenticate'], 'Bearer realm="jwt-auth-api"')
    const wrongType = await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: { authorization: `Bearer ${tokens.refreshToken}` },
    })
    t.equal(wrongType.statusCode, 401)
    t.equal(problemOf(wrongType).code, 'token_invalid')
  })
})
