import t from 'tap'
import { build } from '../helpers/build.js'
import { cookieLogin, cookieOf, login, me, post, postWithCookie, problemOf, refresh, registerUser, session, type Tokens } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'

t.test('POST /auth/refresh', async (t) => {
  const { app, config, clock } = await build(t)
  const graceMs = config.jwt.reuseGraceSeconds * 1000

  t.test('rotates: a new refresh token of the same family, a fresh access token', async (t) => {
    const { tokens } = await session(app)
    clock.advance(1000)
    const response = await refresh(app, tokens.refreshToken!)
    t.equal(response.statusCode, 200)
    const next = response.json<Tokens>()
    t.not(next.refreshToken, tokens.refreshToken)
    t.not(next.accessToken, tokens.accessToken)
    const before = decodeJwt(tokens.refreshToken!)
    const after = decodeJwt(next.refreshToken!)
    t.equal(after.header.typ, 'refresh+jwt')
    t.equal(after.payload.fid, before.payload.fid, 'same family')
    t.equal(after.payload.sub, before.payload.sub)
    t.not(after.payload.jti, before.payload.jti)
    t.equal(after.payload.exp, before.payload.exp, 'the family keeps the expiry of its login')
    t.equal(next.refreshExpiresIn, config.jwt.refreshTtlSeconds - 1)
    t.equal((await me(app, next.accessToken)).statusCode, 200)
    t.equal((await refresh(app, next.refreshToken!)).statusCode, 200, 'the successor works in turn')
  })

  t.test('a token of a deleted account: 401 token_revoked, before any denylist write', async (t) => {
    // revoked_tokens references users: a rotation recorded for a deleted account would fail as a 5xx.
    const { user, tokens } = await session(app)
    await app.db.pool.query('DELETE FROM users WHERE email = ?', [user.email])
    const response = await refresh(app, tokens.refreshToken!)
    t.equal(response.statusCode, 401)
    t.equal(problemOf(response).code, 'token_revoked')
  })

  t.test('grace window: the rotated token again returns the same successor and a fresh access token', async (t) => {
    const { tokens } = await session(app)
    const first = (await refresh(app, tokens.refreshToken!)).json<Tokens>()
    clock.advance(graceMs)
    const again = await refresh(app, tokens.refreshToken!)
    t.equal(again.statusCode, 200)
    const second = again.json<Tokens>()
    t.equal(second.refreshToken, first.refreshToken, 'the very same successor token')
    t.not(second.accessToken, first.accessToken, 'a fresh access token')
    t.equal((await refresh(app, first.refreshToken!)).statusCode, 200, 'the successor is still live')
  })

  t.test('reuse after the grace window: 401 token_reused, and the whole family is revoked', async (t) => {
    const { tokens } = await session(app)
    const successor = (await refresh(app, tokens.refreshToken!)).json<Tokens>()
    clock.advance(graceMs + 1)
    const reuse = await refresh(app, tokens.refreshToken!)
    t.equal(reuse.statusCode, 401)
    t.equal(problemOf(reuse).code, 'token_reused')
    const newest = await refresh(app, successor.refreshToken!)
    t.equal(newest.statusCode, 401, 'the newest token of the family is dead too')
    t.equal(problemOf(newest).code, 'token_revoked')
    t.equal(problemOf(await refresh(app, tokens.refreshToken!)).code, 'token_revoked', 'and stays revoked')
  })

  t.test('reuse does not touch the user’s other logins', async (t) => {
    const user = await registerUser(app)
    const phone = await login(app, user.email)
    const laptop = await login(app, user.email)
    await refresh(app, phone.refreshToken!)
    clock.advance(graceMs + 1)
    t.equal(problemOf(await refresh(app, phone.refreshToken!)).code, 'token_reused')
    t.equal((await refresh(app, laptop.refreshToken!)).statusCode, 200)
  })

  t.test('10 parallel refreshes of one token: all succeed with one and the same successor', async (t) => {
    const { tokens } = await session(app)
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(app, tokens.refreshToken!)))
    t.same(
      responses.map((response) => response.statusCode),
      Array(10).fill(200),
    )
    const successors = new Set(responses.map((response) => response.json<Tokens>().refreshToken))
    t.equal(successors.size, 1, 'exactly one successor was minted')
  })

  t.test('the family expires at the expiry of its login, however often it rotates', async (t) => {
    const { tokens } = await session(app)
    let current = tokens.refreshToken!
    const step = (config.jwt.refreshTtlSeconds * 1000) / 4
    for (let i = 0; i < 3; i++) {
      clock.advance(step)
      const response = await refresh(app, current)
      t.equal(response.statusCode, 200)
      current = response.json<Tokens>().refreshToken!
    }
    clock.advance(step + config.jwt.clockToleranceSeconds * 1000 + 1000)
    const expired = await refresh(app, current)
    t.equal(expired.statusCode, 401)
    t.equal(problemOf(expired).code, 'token_expired')
  })

  t.test('a login left idle longer than REFRESH_IDLE_TIMEOUT_SECONDS cannot refresh, even before it expires', async (t) => {
    const { tokens } = await session(app, { rememberMe: true })
    clock.advance(config.jwt.refreshIdleTimeoutSeconds * 1000 - 1000)
    const used = await refresh(app, tokens.refreshToken!)
    t.equal(used.statusCode, 200, 'used just in time: the idle clock starts again')
    clock.advance(config.jwt.refreshIdleTimeoutSeconds * 1000 + 1000)
    const idle = await refresh(app, used.json<Tokens>().refreshToken!)
    t.equal(idle.statusCode, 401)
    t.equal(problemOf(idle).code, 'token_expired')
    t.match(problemOf(idle).detail, /not used for too long/)
  })

  t.test('refuses what is not a live refresh token of ours', async (t) => {
    const { tokens } = await session(app)
    const cases: [string, object, string][] = [
      ['no token at all', {}, 'token_missing'],
      ['garbage', { refreshToken: 'not-a-jwt' }, 'token_invalid'],
      ['an access token', { refreshToken: tokens.accessToken }, 'token_invalid'],
      ['a tampered token', { refreshToken: `${tokens.refreshToken!.slice(0, -4)}AAAA` }, 'token_invalid'],
    ]
    for (const [name, payload, code] of cases) {
      const response = await post(app, '/auth/refresh', payload)
      t.equal(response.statusCode, 401, name)
      t.equal(problemOf(response).code, code, name)
    }
  })

  t.test('cookie transport', async (t) => {
    const user = await registerUser(app)
    const cookie = await cookieLogin(app, user)

    t.test('without X-Requested-With: 403 csrf_failed, and the token is not consumed', async (t) => {
      const refused = await postWithCookie(app, '/auth/refresh', cookie, null)
      t.equal(refused.statusCode, 403)
      t.equal(problemOf(refused).code, 'csrf_failed')
      t.equal((await postWithCookie(app, '/auth/refresh', cookie, 'fetch')).statusCode, 403)
    })

    t.test('with the header: rotates and sets the successor as the new cookie, not in the body', async (t) => {
      const response = await postWithCookie(app, '/auth/refresh', cookie)
      t.equal(response.statusCode, 200, 'the earlier refused attempts did not consume it')
      t.notOk('refreshToken' in response.json())
      const next = cookieOf(response, 'refresh_token')
      t.ok(next?.value && next.value !== cookie)
      t.match(next, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' })
      t.equal(next?.maxAge, undefined, 'still a session cookie')
    })

    t.test('a remember-me login keeps a persistent cookie across rotations', async (t) => {
      const remembered = await cookieLogin(app, user, { rememberMe: true })
      clock.advance(60_000)
      const response = await postWithCookie(app, '/auth/refresh', remembered)
      t.equal(cookieOf(response, 'refresh_token')?.maxAge, config.jwt.rememberMeTtlSeconds - 60)
    })

    t.test('a token in the body wins over the cookie', async (t) => {
      const { tokens } = await session(app)
      const response = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        payload: { refreshToken: tokens.refreshToken },
        cookies: { refresh_token: 'garbage' },
      })
      t.equal(response.statusCode, 200)
      t.ok(response.json<Tokens>().refreshToken)
      t.equal(cookieOf(response, 'refresh_token'), undefined)
    })
  })
})
