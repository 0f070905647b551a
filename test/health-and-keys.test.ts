import { createPublicKey, verify } from 'node:crypto'
import t from 'tap'
import { migrateDatabase } from '../src/deploy/migrate.js'
import { build } from './helpers/build.js'
import { createTestDatabase } from './helpers/database.js'
import { problemOf, session } from './helpers/http.js'

t.test('health and keys', async (t) => {
  const { app } = await build(t)

  t.test('GET /health/live and /health/ready answer 200 with the database up', async (t) => {
    const live = await app.inject({ url: '/health/live' })
    t.equal(live.statusCode, 200)
    t.same(live.json(), { status: 'ok' })
    const ready = await app.inject({ url: '/health/ready' })
    t.equal(ready.statusCode, 200)
    t.same(ready.json(), { status: 'ok', database: 'up' })
  })

  t.test('GET /.well-known/jwks.json serves public keys that verify our tokens', async (t) => {
    const response = await app.inject({ url: '/.well-known/jwks.json' })
    t.equal(response.statusCode, 200)
    t.equal(response.headers['cache-control'], 'public, max-age=300', 'JWKS_MAX_AGE_SECONDS, 300 by default')
    const { keys } = response.json<{ keys: Record<string, string>[] }>()
    t.equal(keys.length, 1)
    const [jwk] = keys
    t.match(jwk, { kty: 'RSA', alg: 'RS256', use: 'sig' })
    t.notOk('d' in jwk!, 'no private part')

    const { tokens } = await session(app)
    const [header, payload, signature] = tokens.accessToken.split('.')
    t.equal(JSON.parse(Buffer.from(header!, 'base64url').toString()).kid, jwk!.kid)
    const key = createPublicKey({ key: jwk as never, format: 'jwk' })
    t.ok(verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature!, 'base64url')), 'signature verifies')
  })

  t.test('GET /openapi.json and /docs', async (t) => {
    const spec = await app.inject({ url: '/openapi.json' })
    t.equal(spec.statusCode, 200)
    t.equal(spec.json().openapi, '3.1.0')
    const docs = await app.inject({ url: '/docs/' })
    t.equal(docs.statusCode, 200)
    t.match(docs.headers['content-type'], /text\/html/)
  })
})

t.test('GET /health/ready answers 503 until the newest migration is applied, then 200', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const { app } = await build(t, {}, { database })
  const before = await app.inject({ url: '/health/ready' })
  t.equal(before.statusCode, 503)
  t.match(problemOf(before), { code: 'service_unavailable', detail: 'The database is not migrated yet' })

  await migrateDatabase(database.url, { builtIn: true })
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)

  // A migration recorded as started but not finished (a deploy still running, or one that failed) is not ready.
  await app.db.pool.query('UPDATE _prisma_migrations SET finished_at = NULL')
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 503)
})

t.test('JWKS_MAX_AGE_SECONDS sets how long the JWK Set may be cached', async (t) => {
  const { app } = await build(t, { JWKS_MAX_AGE_SECONDS: '3600' })
  const response = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(response.headers['cache-control'], 'public, max-age=3600')
})
