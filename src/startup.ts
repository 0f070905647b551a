import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.js'
import { migrateDatabase } from './deploy/migrate.js'
import { MigrationError } from './deploy/migration-error.js'

/** Reads .env and the environment, or prints every configuration problem and exits 1. */
export function loadConfigOrExit(): Config {
  loadDotEnv()
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
export async function migrateInBackgroundUntilDone(config: Config, log: (line: string) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const attempt = async (): Promise<void> => {
    try {
      await migrateDatabase(config.database.url, { createDatabase: true, schemaEngine: config.database.schemaEngineBinary, log })
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
