import { randomUUID } from 'node:crypto'
import type { Connection } from 'mariadb'
import { MigrationError } from './migration-error.js'
import { checksumMatches, type MigrationFile } from './migration-files.js'

// The bookkeeping table exactly as Prisma's schema engine creates it on MySQL/MariaDB, so that
// `prisma migrate deploy` and this applier can take turns on the same database.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`

// Prisma's advisory lock name, so a Prisma deployer and this one exclude each other too.
const LOCK_NAME = 'prisma_migrate'

export interface MigrationRecord {
  id: string
  checksum: string
  migrationName: string
  logs: string | null
  startedAt: Date
  finishedAt: Date | null
  rolledBackAt: Date | null
  appliedStepsCount: number
}

export interface MigrationStatus {
  /** False when `_prisma_migrations` does not exist yet. */
  initialized: boolean
  applied: MigrationRecord[]
  pending: MigrationFile[]
  failed: MigrationRecord[]
  /** Applied migrations whose migration.sql no longer matches the recorded checksum. */
  edited: MigrationRecord[]
  /** Applied migrations with no folder in prisma/migrations. */
  missingLocally: MigrationRecord[]
}

// Prisma writes these columns as UTC (chrono::Utc::now()); so do we, whatever the session time zone.
const utc = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '')
const fromUtc = (value: string | null) => (value === null ? null : new Date(`${value.replace(' ', 'T')}Z`))

/** Prisma prints timestamps the way chrono does: `2026-11-25 09:00:00.123 UTC`. */
const displayUtc = (date: Date) => `${utc(date)} UTC`

interface RecordRow {
  id: string
  checksum: string
  migration_name: string
  logs: string | null
  started_at: string
  finished_at: string | null
  rolled_back_at: string | null
  applied_steps_count: number
}

async function tableNames(connection: Connection): Promise<string[]> {
  const rows = await connection.query<{ name: string }[]>(
    // Base tables only, as Prisma's MySQL engine counts them: a database holding only views is "empty".
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
  )
  return rows.map((row) => row.name)
}

async function readRecords(connection: Connection): Promise<MigrationRecord[]> {
  const rows = await connection.query<RecordRow[]>({
    sql:
      'SELECT id, checksum, migration_name, logs, started_at, finished_at, rolled_back_at, applied_steps_count ' +
      'FROM _prisma_migrations ORDER BY started_at ASC',
    dateStrings: true,
  })
  return rows.map((row) => ({
    id: row.id,
    checksum: row.checksum,
    migrationName: row.migration_name,
    logs: row.logs,
    startedAt: fromUtc(row.started_at) as Date,
    finishedAt: fromUtc(row.finished_at),
    rolledBackAt: fromUtc(row.rolled_back_at),
    appliedStepsCount: Number(row.applied_steps_count),
  }))
}

/** Compares the migration folders with what the database has recorded. Reads only. */
export async function migrationStatus(connection: Connection, files: MigrationFile[]): Promise<MigrationStatus> {
  const initialized = (await tableNames(connection)).includes('_prisma_migrations')
  const records = initialized ? await readRecords(connection) : []
  const live = records.filter((record) => record.rolledBackAt === null)
  const applied = live.filter((record) => record.finishedAt !== null)
  const fileByName = new Map(files.map((file) => [file.name, file]))
  const appliedNames = new Set(applied.map((record) => record.migrationName))
  return {
    initialized,
    applied,
    pending: files.filter((file) => !appliedNames.has(file.name)),
    failed: live.filter((record) => record.finishedAt === null),
    edited: applied.filter((record) => {
      const file = fileByName.get(record.migrationName)
      return file !== undefined && !checksumMatches(file.script, record.checksum)
    }),
    missingLocally: applied.filter((record) => !fileByName.has(record.migrationName)),
  }
}

async function withLock<T>(connection: Connection, timeoutSeconds: number, work: () => Promise<T>): Promise<T> {
  const [row] = await connection.query<{ got: number | bigint | null }[]>('SELECT GET_LOCK(?, ?) AS got', [
    LOCK_NAME,
    timeoutSeconds,
  ])
  // Prisma ignores a lock timeout and carries on; we stop instead of racing the other deployer.
  if (Number(row?.got) !== 1) {
    throw new MigrationError(
      'lock_timeout',
      `Another deployer has held the migration lock '${LOCK_NAME}' for more than ${timeoutSeconds}s; try again when it has finished`,
    )
  }
  try {
    return await work()
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]).catch(() => undefined)
  }
}

/** Prisma's `initialize`: create the table in an empty database, refuse a non-empty one (P3005). */
async function ensureMigrationsTable(connection: Connection): Promise<void> {
  const tables = await tableNames(connection)
  if (tables.includes('_prisma_migrations')) return
  if (tables.length > 0) {
    throw new MigrationError(
      'P3005',
      'The database schema is not empty, and it has no migration history (_prisma_migrations). ' +
        'Read more about how to baseline an existing production database: https://pris.ly/d/migrate-baseline\n' +
        `Tables found: ${tables.join(', ')}`,
    )
  }
  await connection.query(CREATE_MIGRATIONS_TABLE)
}

function refuseUnsafeHistory(status: MigrationStatus): void {
  if (status.failed.length > 0) {
    const details = status.failed
      .map((record) => {
        const logs = record.logs?.trim() ? ` with the following logs:\n${record.logs.trim()}` : ''
        return `The \`${record.migrationName}\` migration started at ${displayUtc(record.startedAt)} failed${logs}`
      })
      .join('\n')
    throw new MigrationError(
      'P3009',
      'migrate found failed migrations in the target database, new migrations will not be applied. Read more about ' +
        `how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n${details}\n` +
        'Repair the database by hand, then record the outcome: npm run db:resolve -- --rolled-back <name> ' +
        '(it will be applied again) or --applied <name> (you completed it by hand).',
    )
  }
  if (status.edited.length > 0) {
    const names = status.edited.map((record) => record.migrationName).join(', ')
    throw new MigrationError(
      'checksum_mismatch',
      `The migration.sql of already-applied migration ${names} has changed since it was applied. ` +
        'Restore the original file and put the change in a new migration.',
    )
  }
}

export interface DeployOptions {
  lockTimeoutSeconds?: number
  log?: (line: string) => void
  now?: () => Date
}

export interface DeployResult {
  applied: string[]
  alreadyApplied: number
}

/**
 * Applies pending migrations the way `prisma migrate deploy` does: under Prisma's advisory lock, in name
 * order, each one recorded in `_prisma_migrations` before it runs and marked finished after it. A failure
 * is recorded with its error and blocks later deploys until it is resolved (Prisma's P3009).
 * Stricter than Prisma: an applied migration whose file changed is refused. The connection must allow
 * multiple statements.
 */
export async function deployMigrations(
  connection: Connection,
  files: MigrationFile[],
  options: DeployOptions = {},
): Promise<DeployResult> {
  const log = options.log ?? (() => undefined)
  const now = options.now ?? (() => new Date())
  return withLock(connection, options.lockTimeoutSeconds ?? 60, async () => {
    await ensureMigrationsTable(connection)
    const status = await migrationStatus(connection, files)
    refuseUnsafeHistory(status)
    for (const record of status.missingLocally) {
      log(`warning: migration ${record.migrationName} is applied in the database but missing from prisma/migrations`)
    }

    const applied: string[] = []
    for (const file of status.pending) {
      const id = randomUUID()
      const started = Date.now()
      await connection.query(
        'INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES (?, ?, ?, ?)',
        [id, file.checksum, utc(now()), file.name],
      )
      try {
        await connection.query(file.script)
      } catch (error) {
        const logs = error instanceof Error ? error.message : String(error)
        await connection.query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [logs, id])
        throw new MigrationError(
          'P3018',
          'A migration failed to apply. New migrations cannot be applied before the error is recovered from. ' +
            `Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n` +
            `Migration name: ${file.name}\nDatabase error: ${logs}`,
        )
      }
      await connection.query('UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = ?', [id])
      await connection.query('UPDATE _prisma_migrations SET finished_at = ? WHERE id = ?', [utc(now()), id])
      applied.push(file.name)
      log(`Applied migration ${file.name} (${Date.now() - started} ms)`)
    }
    return { applied, alreadyApplied: status.applied.length }
  })
}

export type Resolution = { rolledBack: string } | { applied: string }

/**
 * `prisma migrate resolve`: after a failed migration was repaired by hand, record the outcome.
 * --rolled-back marks the failed attempt rolled back, so the next deploy applies it again; --applied
 * records it as applied (you finished it by hand) without running it.
 */
export async function resolveMigration(
  connection: Connection,
  files: MigrationFile[],
  resolution: Resolution,
  { now = () => new Date() }: { now?: () => Date } = {},
): Promise<void> {
  await withLock(connection, 60, async () => {
    const status = await migrationStatus(connection, files)
    if ('rolledBack' in resolution) {
      const name = resolution.rolledBack
      if (!status.applied.concat(status.failed).some((record) => record.migrationName === name)) {
        throw new MigrationError('P3011', `Migration \`${name}\` cannot be rolled back because it was never applied to the database.`)
      }
      const failed = status.failed.filter((record) => record.migrationName === name)
      if (failed.length === 0) {
        throw new MigrationError(
          'P3012',
          `Migration \`${name}\` cannot be rolled back because it is not in a failed state.`,
        )
      }
      for (const record of failed) {
        await connection.query('UPDATE _prisma_migrations SET rolled_back_at = ? WHERE id = ?', [utc(now()), record.id])
      }
      return
    }
    const file = files.find((candidate) => candidate.name === resolution.applied)
    if (!file) {
      throw new MigrationError('P3017', `The migration ${resolution.applied} could not be found in prisma/migrations.`)
    }
    if (status.applied.some((record) => record.migrationName === file.name)) {
      throw new MigrationError('P3008', `The migration \`${file.name}\` is already recorded as applied in the database.`)
    }
    if (!status.initialized) await connection.query(CREATE_MIGRATIONS_TABLE)
    for (const record of status.failed.filter((candidate) => candidate.migrationName === file.name)) {
      await connection.query('UPDATE _prisma_migrations SET rolled_back_at = ? WHERE id = ?', [utc(now()), record.id])
    }
    const at = utc(now())
    await connection.query(
      "INSERT INTO _prisma_migrations (id, checksum, logs, started_at, finished_at, migration_name) VALUES (?, ?, '', ?, ?, ?)",
      [randomUUID(), file.checksum, at, at, file.name],
    )
  })
}
