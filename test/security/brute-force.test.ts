import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { PASSWORD, problemOf, registerUser, uniqueEmail } from '../helpers/http.js'

// A fresh client address per test (through a trusted proxy), and fresh addresses for the accounts guessed
// at, so counters never leak between tests or between runs sharing one Redis (its windows last 15 minutes).
const randomIp = () => `10.${randomBytes(3).join('.')}`
/** A fresh IPv6 /64, and addresses inside it. */
const randomPrefix64 = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`

function loginAs(app: Awaited<ReturnType<typeof build>>['app'], ip: string, email: string, password: string) {
  return app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
    headers: { 'x-forwarded-for': ip },
  })
}

for (const store of ['memory', 'redis'] as const) {
  const env = { TRUST_PROXY: 'true', ...(store === 'redis' ? { REDIS_URL: 'redis://127.0.0.1:6379' } : {}) }

  t.test(`failed logins are limited per account and IP (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, LOGIN_FAILURES_PER_ACCOUNT: '3' })
    const user = await registerUser(app)
    const ip = randomIp()
    for (let i = 0; i < 3; i++) t.equal((await loginAs(app, ip, user.email, 'wrong password')).statusCode, 401)

    const blocked = await loginAs(app, ip, user.email, PASSWORD)
    t.equal(blocked.statusCode, 429, 'blocked even with the right password')
    t.equal(problemOf(blocked).code, 'rate_limited')
    const retryAfter = Number(blocked.headers['retry-after'])
    t.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`)

    t.equal((await loginAs(app, randomIp(), user.email, PASSWORD)).statusCode, 200, 'the same account from another IP')
    t.equal((await loginAs(app, ip, uniqueEmail('someone-else'), 'wrong password')).statusCode, 401, 'another account from this IP')
  })

  t.test(`a successful login resets the account's counter (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, LOGIN_FAILURES_PER_ACCOUNT: '3' })
    const user = await registerUser(app)
    const ip = randomIp()
    for (let i = 0; i < 2; i++) await loginAs(app, ip, user.email, 'wrong password')
    t.equal((await loginAs(app, ip, user.email, PASSWORD)).statusCode, 200)
    for (let i = 0; i < 2; i++) t.equal((await loginAs(app, ip, user.email, 'wrong password')).statusCode, 401)
    t.equal((await loginAs(app, ip, user.email, PASSWORD)).statusCode, 200, 'not blocked: the count started again')
  })

  t.test(`failed logins per IP across accounts have their own budget (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, LOGIN_FAILURES_PER_IP: '4' })
    const ip = randomIp()
    for (let i = 0; i < 4; i++) {
      t.equal((await loginAs(app, ip, uniqueEmail('stuffed'), 'guess')).statusCode, 401)
    }
    const response = await loginAs(app, ip, uniqueEmail('stuffed-next'), 'guess')
    t.equal(response.statusCode, 429)
    t.equal(problemOf(response).code, 'rate_limited')
  })

  t.test(`an IPv6 host counts as its /64, for failed logins and the /auth budget (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, LOGIN_FAILURES_PER_ACCOUNT: '3', LOGIN_FAILURES_PER_IP: '5', AUTH_REQUESTS_PER_MINUTE: '7' })
    // From an address of its own: with a budget of 7, 127.0.0.1's is used up by the other runs of the last minute.
    const user = await registerUser(app, uniqueEmail(), PASSWORD, { 'x-forwarded-for': randomIp() })
    const prefix = randomPrefix64()
    // Every guess from another address of the same /64: still one client.
    for (let i = 1; i <= 3; i++) t.equal((await loginAs(app, `${prefix}::${i}`, user.email, 'wrong password')).statusCode, 401)
    t.equal((await loginAs(app, `${prefix}:ffff:ffff:ffff:ffff`, user.email, PASSWORD)).statusCode, 429, 'per account and /64')
    for (let i = 0; i < 2; i++) await loginAs(app, `${prefix}::a${i}`, uniqueEmail('other'), 'guess')
    const another = uniqueEmail('another')
    t.equal((await loginAs(app, `${prefix}::b`, another, 'guess')).statusCode, 429, 'per /64 across accounts')
    // The eighth /auth request from this /64 (seven allowed a minute).
    const budget = await loginAs(app, `${prefix}::c`, another, 'guess')
    t.equal(budget.statusCode, 429)
    t.match(problemOf(budget).detail, /Too many requests to \/auth/, 'the /auth request budget counts the /64 too')
    t.equal((await loginAs(app, `${randomPrefix64()}::1`, user.email, PASSWORD)).statusCode, 200, 'another /64 is another client')
    t.equal((await loginAs(app, `::ffff:${randomIp()}`, user.email, PASSWORD)).statusCode, 200, 'IPv4-mapped addresses count as IPv4')
  })

  t.test(`one account guessed at from many addresses is locked for the window (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, LOGIN_FAILURES_PER_ACCOUNT_ALL_IPS: '5' })
    const user = await registerUser(app)
    for (let i = 0; i < 5; i++) t.equal((await loginAs(app, randomIp(), user.email, 'wrong password')).statusCode, 401)
    const locked = await loginAs(app, randomIp(), user.email, PASSWORD)
    t.equal(locked.statusCode, 429, 'refused from a fresh address, even with the right password')
    t.equal(problemOf(locked).code, 'rate_limited')
    const retryAfter = Number(locked.headers['retry-after'])
    t.ok(retryAfter > 0 && retryAfter <= 900, `a temporary lock: Retry-After ${retryAfter}`)
    t.equal((await loginAs(app, randomIp(), uniqueEmail('someone-else'), 'wrong password')).statusCode, 401, 'other accounts are not locked')
  })

  t.test(`concurrent guesses cannot overrun the limit: the point is paid before bcrypt (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, LOGIN_FAILURES_PER_ACCOUNT: '10' })
    const user = await registerUser(app)
    const ip = randomIp()
    const answers = await Promise.all(Array.from({ length: 17 }, () => loginAs(app, ip, user.email, 'wrong password')))
    const statuses = answers.map((answer) => answer.statusCode).sort()
    t.same(statuses, [...Array(10).fill(401), ...Array(7).fill(429)], 'exactly 10 of 17 concurrent guesses were checked')
  })

  t.test(`every /auth/* request counts against the per-IP budget; /me does not (${store} store)`, async (t: Test) => {
    const { app } = await build(t, { ...env, AUTH_REQUESTS_PER_MINUTE: '3' })
    const ip = randomIp()
    const refresh = () =>
      app.inject({ method: 'POST', url: '/auth/refresh', payload: {}, headers: { 'x-forwarded-for': ip } })
    for (let i = 0; i < 3; i++) t.equal((await refresh()).statusCode, 401)
    const limited = await refresh()
    t.equal(limited.statusCode, 429)
    t.equal(problemOf(limited).code, 'rate_limited')
    t.ok(Number(limited.headers['retry-after']) > 0)
    const me = await app.inject({ url: '/me', headers: { 'x-forwarded-for': ip } })
    t.equal(me.statusCode, 401, '/me is not rate limited')
  })
}

t.test('with Redis, two instances share the failed-login counters', async (t) => {
  const env = { TRUST_PROXY: 'true', REDIS_URL: 'redis://127.0.0.1:6379', LOGIN_FAILURES_PER_ACCOUNT: '4' }
  const first = await build(t, env)
  const second = await build(t, env)
  const user = await registerUser(first.app)
  const ip = randomIp()
  // Both apps have their own databases; the throttle only needs the email and the address.
  for (let i = 0; i < 2; i++) await loginAs(first.app, ip, user.email, 'wrong password')
  for (let i = 0; i < 2; i++) await loginAs(second.app, ip, user.email, 'wrong password')
  t.equal((await loginAs(first.app, ip, user.email, PASSWORD)).statusCode, 429)
})

t.test('with Redis unreachable, logins still work (counters fall back to memory)', async (t) => {
  const { app } = await build(t, { TRUST_PROXY: 'true', REDIS_URL: 'redis://127.0.0.1:1', LOGIN_FAILURES_PER_ACCOUNT: '2' })
  const user = await registerUser(app)
  const ip = randomIp()
  t.equal((await loginAs(app, ip, user.email, PASSWORD)).statusCode, 200)
  for (let i = 0; i < 2; i++) t.equal((await loginAs(app, ip, user.email, 'wrong password')).statusCode, 401)
  t.equal((await loginAs(app, ip, user.email, PASSWORD)).statusCode, 429, 'still limited, in memory')
})

t.test('a brute force writes a bounded number of security events, however many guesses it sends', async (t) => {
  const { app, database } = await build(t, { TRUST_PROXY: 'true' })
  const user = await registerUser(app)
  const ip = randomIp()
  const guesses = 300 // the whole /auth budget of one address for a minute (AUTH_REQUESTS_PER_MINUTE)
  const started = performance.now()
  const statuses: number[] = []
  for (let sent = 0; sent < guesses; sent += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => loginAs(app, ip, user.email, 'wrong password')))
    statuses.push(...batch.map((response) => response.statusCode))
  }
  await app.detachedEvents.settled()
  const seconds = (performance.now() - started) / 1000
  const session = await openSession(database.url)
  t.teardown(() => session.end())
  const rows = await session.query<{ type: string; count: bigint }[]>(
    'SELECT type, COUNT(*) AS count FROM auth_events WHERE user_id = ? GROUP BY type ORDER BY type',
    [user.id],
  )
  const counts = Object.fromEntries(rows.map((row) => [row.type, Number(row.count)]))
  t.same(counts, { login_failed: 10, login_throttled: 1 }, 'ten failures (LOGIN_FAILURES_PER_ACCOUNT), then one throttled event')
  t.equal(statuses.filter((status) => status === 429).length, guesses - 10, 'every other guess was refused before bcrypt')
  t.comment(
    `${guesses} guesses in ${seconds.toFixed(2)} s (${(guesses / seconds).toFixed(0)}/s) wrote 11 events ` +
      `(${(11 / seconds).toFixed(1)}/s while it lasted; at most 11 per account, address and 15-minute window)`,
  )
})
