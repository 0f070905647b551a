import { randomBytes } from 'node:crypto'
import t from 'tap'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/database.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'
import { generateRefreshSecret, generateSigningKey } from '../helpers/server-process.js'

type Tokens = { accessToken: string; refreshToken: string }

/**
 * Two instances of the API on two ports, sharing one MariaDB database and one Redis, as two machines
 * behind a load balancer would: what one does, the other honours.
 */
t.test('two instances share MariaDB and Redis', async (t) => {
  const database = await createTestDatabase(t)
  const env = {
    JWT_PRIVATE_KEY: generateSigningKey(),
    REFRESH_TOKEN_SECRET: generateRefreshSecret(),
    REDIS_URL: 'redis://127.0.0.1:6379',
    TRUST_PROXY: 'true',
    LOGIN_FAILURES_PER_ACCOUNT: '4',
  }
  const [a, b] = await Promise.all([build(t, env, { database }), build(t, env, { database })])
  const [urlA, urlB] = await Promise.all([a.app.listen({ host: '127.0.0.1', port: 0 }), b.app.listen({ host: '127.0.0.1', port: 0 })])
  t.not(urlA, urlB)
  const client = `10.${randomBytes(3).join('.')}`
  const post = (base: string, path: string, body: object) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify(body),
    })
  const email = uniqueEmail('scale')
  t.equal((await post(urlA, '/auth/register', { email, password: PASSWORD })).status, 201)
  const loginOn = async (base: string) => (await (await post(base, '/auth/login', { email, password: PASSWORD })).json()) as Tokens

  t.test('a refresh token raced across both instances yields exactly one successor', async (t) => {
    const tokens = await loginOn(urlA)
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post(i % 2 ? urlA : urlB, '/auth/refresh', { refreshToken: tokens.refreshToken })),
    )
    t.same(
      answers.map((answer) => answer.status),
      Array(10).fill(200),
    )
    const successors = new Set(await Promise.all(answers.map(async (answer) => ((await answer.json()) as Tokens).refreshToken)))
    t.equal(successors.size, 1, 'both instances hand out the same successor')
  })

  t.test('an access token from one instance is accepted by the other', async (t) => {
    const tokens = await loginOn(urlA)
    const me = await fetch(`${urlB}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } })
    t.equal(me.status, 200)
  })

  t.test('a logout on one instance is honoured by refresh on the other', async (t) => {
    const tokens = await loginOn(urlB)
    t.equal((await post(urlA, '/auth/logout', { refreshToken: tokens.refreshToken })).status, 204)
    const refused = await post(urlB, '/auth/refresh', { refreshToken: tokens.refreshToken })
    t.equal(refused.status, 401)
    t.equal(((await refused.json()) as { code: string }).code, 'token_revoked')
  })

  t.test('failed logins counted on one instance count against the limit on the other', async (t) => {
    for (const base of [urlA, urlB, urlA, urlB]) {
      t.equal((await post(base, '/auth/login', { email, password: 'not the password' })).status, 401)
    }
    for (const base of [urlA, urlB]) {
      const blocked = await post(base, '/auth/login', { email, password: PASSWORD })
      t.equal(blocked.status, 429, 'blocked on both, even with the right password')
    }
  })
})
