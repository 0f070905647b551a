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

const MIGRATION_RETRY_MS = 2000

/**
 * MIGRATE_ON_START: create the database if needed and apply pending migrations. A broken migration
 * history stops the process; an unreachable database does not: the server starts, reports not-ready,
 * and this keeps trying in the background until the database answers.
 */
async function migrateInBackgroundUntilDone(config: Config, log: (line: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const attempt = async (): Promise<void> => {
    try {
      await migrateDatabase(config.database.url, { createDatabase: true, log })
    } catch (error) {
      if (error instanceof MigrationError) {
        console.error(error.message)
        process.exit(1)
      }
      log(`Migrations not applied yet, the database is unreachable (${(error as Error).message}); retrying`)
      timer = setTimeout(() => void attempt(), MIGRATION_RETRY_MS)
      timer.unref()
    }
  }
  process.once('SIGTERM', () => clearTimeout(timer))
  await attempt()
}

loadDotEnv()
const config = loadConfigOrExit()
if (config.database.migrateOnStart) await migrateInBackgroundUntilDone(config, (line) => console.log(line))

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
