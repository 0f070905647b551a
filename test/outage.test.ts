import t from 'tap'
import { build } from './helpers/build.js'
import { createProxiedTestDatabase } from './helpers/database.js'
import { me, post, problemOf, refresh, registerUser, login, uniqueEmail, PASSWORD } from './helpers/http.js'
import { within } from './helpers/server-process.js'

t.test('database outage: access tokens keep working, DB-bound routes answer 503, recovery needs no restart', async (t) => {
  const { database, proxy, url } = await createProxiedTestDatabase(t)
  const { app, config } = await build(t, { DATABASE_URL: url }, { database })

  const user = await registerUser(app)
  const tokens = await login(app, user.email)
  proxy.cut()

  t.test('/me and /health/live answer 200 with the database gone', async (t) => {
    for (let i = 0; i < 20; i++) t.equal((await me(app, tokens.accessToken)).statusCode, 200)
    t.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
  })

  t.test('/health/ready answers 503', async (t) => {
    const response = await app.inject({ url: '/health/ready' })
    t.equal(response.statusCode, 503)
    t.equal(problemOf(response).code, 'service_unavailable')
  })

  t.test('login, register, refresh, logout answer 503 service_unavailable within 5 s', async (t) => {
    const calls: [string, () => ReturnType<typeof post>][] = [
      ['login', () => post(app, '/auth/login', { email: user.email, password: PASSWORD })],
      ['register', () => post(app, '/auth/register', { email: uniqueEmail(), password: PASSWORD })],
      ['refresh', () => refresh(app, tokens.refreshToken!)],
      ['logout', () => post(app, '/auth/logout', { refreshToken: tokens.refreshToken })],
      ['logout-all', () => app.inject({ method: 'POST', url: '/auth/logout-all', headers: { authorization: `Bearer ${tokens.accessToken}` } })],
    ]
    for (const [name, call] of calls) {
      const started = Date.now()
      const response = await call()
      const elapsed = Date.now() - started
      t.equal(response.statusCode, 503, name)
      t.equal(problemOf(response).code, 'service_unavailable', name)
      t.ok(response.headers['retry-after'], `${name}: Retry-After`)
      t.ok(elapsed < 5000, `${name} answered in ${elapsed} ms`)
      t.notMatch(response.body, /ECONNREFUSED|SqlError|pool|prisma/i, `${name}: no driver text`)
    }
  })

  t.test('recovers without a restart, and the refresh attempted during the outage was not consumed', async (t) => {
    proxy.restore()
    const took = await within(5000, async () => (await app.inject({ url: '/health/ready' })).statusCode === 200)
    t.ok(took < 5000, `ready again ${took} ms after the database came back`)
    const response = await refresh(app, tokens.refreshToken!)
    t.equal(response.statusCode, 200, 'the token still refreshes: nothing was consumed during the outage')
    t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 200)
  })
})

t.test('a silent network (packets dropped, connections open): DB-bound routes still answer 503 within the deadline', async (t) => {
  const { database, proxy, url } = await createProxiedTestDatabase(t)
  const { app, config } = await build(t, { DATABASE_URL: url }, { database })

  const user = await registerUser(app)
  const tokens = await login(app, user.email)
  proxy.stall()
  const bound = config.database.operationTimeoutMs
  for (const [name, call] of [
    ['login', () => post(app, '/auth/login', { email: user.email, password: PASSWORD })],
    ['refresh', () => refresh(app, tokens.refreshToken!)],
  ] as const) {
    const started = Date.now()
    const response = await call()
    const elapsed = Date.now() - started
    t.equal(response.statusCode, 503, name)
    t.ok(elapsed < bound + 1000, `${name} answered in ${elapsed} ms (deadline ${bound} ms per database call)`)
  }
  t.equal((await me(app, tokens.accessToken)).statusCode, 200, '/me does not care')
  proxy.restore()
  await within(5000, async () => (await app.inject({ url: '/health/ready' })).statusCode === 200)
  t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200, 'recovered; the token was not consumed')
})
