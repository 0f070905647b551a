// One serving process: the app plus the bench routes, listening. The single bench server and every
// cluster worker run this.
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
