import t from 'tap'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/database.js'
import { cookieLogin, cookieOf, me, post, problemOf, refresh, registerUser, session, type Tokens } from '../helpers/http.js'
import { generateRefreshSecret, generateSigningKey } from '../helpers/server-process.js'

t.test('token responses and /me are never cached', async (t) => {
  const { app } = await build(t)
  const { user, tokens } = await session(app)
  const answers = {
    login: await post(app, '/auth/login', { email: user.email, password: user.password }),
    refresh: await refresh(app, tokens.refreshToken!),
    me: await me(app, tokens.accessToken),
    'a refused refresh': await refresh(app, 'not a token'),
  }
  for (const [name, answer] of Object.entries(answers)) {
    t.equal(answer.headers['cache-control'], 'no-store', `${name}: Cache-Control`)
    t.equal(answer.headers.pragma, 'no-cache', `${name}: Pragma`)
  }
})

t.test('a revoked refresh token stays revoked through a prune while the verifier still accepts it', async (t) => {
  const { app, clock, config } = await build(t)
  const { tokens } = await session(app)
  t.equal((await post(app, '/auth/logout', { refreshToken: tokens.refreshToken })).statusCode, 204)
  // Past exp, inside the clock tolerance: the signature and lifetime checks still pass.
  clock.advance(tokens.refreshExpiresIn * 1000 + (config.jwt.clockToleranceSeconds * 1000) / 2)
  await app.pruner.prune({ pauseMs: 0 })
  const answer = await refresh(app, tokens.refreshToken!)
  t.equal(answer.statusCode, 401)
  t.equal(problemOf(answer).code, 'token_revoked', 'the logout row was kept for the tolerance')
})

t.test('more than one refresh_token cookie is refused, and nothing is consumed', async (t) => {
  const { app } = await build(t)
  const victim = await registerUser(app)
  const attacker = await registerUser(app)
  const [ours, planted] = [await cookieLogin(app, victim), await cookieLogin(app, attacker)]
  const withCookies = (url: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: { cookie: `refresh_token=${planted}; refresh_token=${ours}`, 'x-requested-with': 'XMLHttpRequest' },
    })
  for (const url of ['/auth/refresh', '/auth/logout']) {
    const answer = await withCookies(url)
    t.equal(answer.statusCode, 401, url)
    t.equal(problemOf(answer).code, 'token_invalid')
    t.match(problemOf(answer).detail, /More than one refresh_token cookie/)
  }
  // A login with two cookies logs in, but logs neither previous login out.
  const relogin = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: victim.email, password: victim.password, transport: 'cookie' },
    headers: { cookie: `refresh_token=${planted}; refresh_token=${ours}` },
  })
  t.equal(relogin.statusCode, 200)
  for (const token of [ours, planted]) t.equal((await refresh(app, token)).statusCode, 200, 'both logins are untouched')
})

t.test('remember-me is a claim of the login, not derived from today\'s config', async (t) => {
  const database = await createTestDatabase(t)
  const env = { JWT_PRIVATE_KEY: generateSigningKey(), REFRESH_TOKEN_SECRET: generateRefreshSecret() }
  const before = await build(t, { ...env, REFRESH_TOKEN_TTL_SECONDS: '86400' }, { database })
  const user = await registerUser(before.app)
  const sessionCookie = await cookieLogin(before.app, user)
  const remembered = await cookieLogin(before.app, user, { rememberMe: true })
  // The operator shortens the normal login lifetime; existing logins keep what they asked for.
  const after = await build(t, { ...env, REFRESH_TOKEN_TTL_SECONDS: '3600' }, { database })
  const refreshWith = (cookie: string) =>
    after.app.inject({ method: 'POST', url: '/auth/refresh', cookies: { refresh_token: cookie }, headers: { 'x-requested-with': 'XMLHttpRequest' } })
  const plain = await refreshWith(sessionCookie)
  t.equal(plain.statusCode, 200)
  t.equal(cookieOf(plain, 'refresh_token')?.maxAge, undefined, 'a session cookie stays a session cookie')
  const kept = await refreshWith(remembered)
  t.equal(kept.statusCode, 200)
  t.ok((cookieOf(kept, 'refresh_token')?.maxAge ?? 0) > 86_400, 'a remembered login stays persistent')
  t.equal(kept.json<Tokens>().refreshToken, undefined)
})
