// One serving process: the app plus the bench routes, listening. The single bench server and every
// cluster worker run this.
import { getHeapSpaceStatistics } from 'node:v8'
import { buildApp } from '../../dist/app.js'
import fastifyHelmetRoute from './fastify-helmet-route.mjs'
import sessionRoutes from './session-routes.mjs'

/**
 * Builds the app, listens, closes gracefully on SIGTERM, and returns what the harness needs to mint tokens
 * the server accepts.
 * @param {import('../../dist/config.js').Config} config
 */
export async function serve(config) {
  const app = await buildApp(config)
  await app.register(sessionRoutes, {
    pool: app.db.pool,
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: process.env.BENCH_REDIS_PREFIX ?? 'jwt-bench:session:',
  })
  await app.register(fastifyHelmetRoute)
  // For --heap-snapshot: what of the RSS V8 accounts for (heap spaces, external and array buffers).
  app.get('/bench/memory', async () => ({
    ...process.memoryUsage(),
    heapSpaces: getHeapSpaceStatistics().map((space) => ({ name: space.space_name, committed: space.physical_space_size, used: space.space_used_size })),
  }))
  // PORT=0 in a cluster: the primary holds one listening socket and every worker shares its port.
  await app.listen({ host: config.host, port: config.port })

  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })

  const address = app.server.address()
  return {
    port: typeof address === 'object' && address ? address.port : config.port,
    kid: config.jwt.keys.signing.kid,
    refreshKid: config.jwt.refreshKeys.signing.kid,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    accessCacheSize: config.accessTokenCacheSize,
    // The commit-floor scenario commits through a pool of the same size.
    dbPoolSize: config.database.poolSize,
  }
}
