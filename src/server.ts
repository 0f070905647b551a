import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.js'
import { migrateDatabase } from './db/migrate.js'
import { MigrationError } from './db/migration-error.js'
import { isConnectionSetupError } from './db/prisma-errors.js'

function loadConfigOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
}

/** Development start-up: create the database if needed and apply pending migrations. */
async function migrateOrExit(config: Config): Promise<void> {
  try {
    await migrateDatabase(config.database.url, { createDatabase: true, log: (line) => console.log(line) })
  } catch (error) {
    // A broken migration history must be fixed first; an unreachable database must not stop start-up:
    // the server reports not-ready until the database is back.
    if (error instanceof MigrationError) {
      console.error(error.message)
      process.exit(1)
    }
    console.error(`Migrations not applied, the database is unreachable: ${(error as Error).message}`)
  }
}

loadDotEnv()
const config = loadConfigOrExit()
if (config.database.migrateOnStart) await migrateOrExit(config)

const app = await buildApp(config)
const closer = closeWithGrace({ delay: 10_000, skip: ['unhandledRejection'] }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error')
  else app.log.info({ signal }, 'closing: finishing in-flight requests')
  await app.close()
})

process.on('unhandledRejection', (reason) => {
  // The MariaDB driver leaves this rejection unhandled when a connection drops while it is being opened;
  // the pool has already counted the failure and will retry, so it is not a reason to stop serving.
  if (isConnectionSetupError(reason)) {
    app.log.warn({ err: reason }, 'a database connection failed while opening')
    return
  }
  app.log.fatal({ err: reason }, 'unhandled promise rejection')
  process.exitCode = 1
  closer.close()
})

await app.listen({ host: config.host, port: config.port })
