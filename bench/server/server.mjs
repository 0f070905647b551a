// The server under test: the API exactly as `npm start` runs it (the build in dist/, configured from the
// environment), plus the bench-only session routes. Plain JavaScript on purpose: running it under tsx
// would add the loader's ~45 MB to the RSS being measured. Started by bench/run.ts; reports readiness
// over the IPC channel. Build first: npm run build.
import { buildApp } from '../../dist/app.js'
import { ConfigError, loadConfig } from '../../dist/config.js'
import { migrateDatabase } from '../../dist/db/migrate.js'
import sessionRoutes from './session-routes.mjs'

function loadConfigOrExit() {
  try {
    return loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
}

process.on('unhandledRejection', (reason) => console.error('unhandled rejection in the bench server', reason))

const config = loadConfigOrExit()
// Same start-up step as src/server.ts: a fresh bench database gets its schema here.
if (config.database.migrateOnStart) await migrateDatabase(config.database.url, { createDatabase: true })

const app = await buildApp(config)
await app.register(sessionRoutes, {
  pool: app.db.pool,
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  redisPrefix: process.env.BENCH_REDIS_PREFIX ?? 'jwt-bench:session:',
})
await app.listen({ host: config.host, port: config.port })

process.once('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})

const address = app.server.address()
process.send?.({
  type: 'ready',
  port: typeof address === 'object' && address ? address.port : config.port,
  kid: config.jwt.keys.signing.kid,
  issuer: config.jwt.issuer,
  audience: config.jwt.audience,
  accessCacheSize: app.tokens.verifier.accessCache.maxEntries,
})
