import { randomUUID } from 'node:crypto'
import type { Connection } from 'mariadb'
import type { MigrationFile } from './migration-files.js'

// The bookkeeping table exactly as Prisma's schema engine creates it on MySQL/MariaDB, so that
// `prisma migrate deploy` and this applier can take turns on the same database.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
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

export type MigrationErrorCode = 'P3009' | 'P3018' | 'checksum_mismatch' | 'lock_timeout'

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'MigrationError'
  }
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

interface RecordRow {
  id: string
  checksum: string
  migration_name: string
  logs: string | null
  started_at: Date
  finished_at: Date | null
  rolled_back_at: Date | null
  applied_steps_count: number
}

const toRecord = (row: RecordRow): MigrationRecord => ({
  id: row.id,
  checksum: row.checksum,
  migrationName: row.migration_name,
  logs: row.logs,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  rolledBackAt: row.rolled_back_at,
  appliedStepsCount: Number(row.applied_steps_count),
})

async function tableExists(connection: Connection): Promise<boolean> {
  const rows: unknown[] = await connection.query(
    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_prisma_migrations'",
  )
  return rows.length > 0
}

async function readRecords(connection: Connection): Promise<MigrationRecord[]> {
  const rows: RecordRow[] = await connection.query(
    'SELECT id, checksum, migration_name, logs, started_at, finished_at, rolled_back_at, applied_steps_count ' +
      'FROM _prisma_migrations ORDER BY started_at ASC',
  )
  return rows.map(toRecord)
}

/** Compares the migration folders with what the database has recorded. Reads only. */
export async function migrationStatus(connection: Connection, files: MigrationFile[]): Promise<MigrationStatus> {
  const initialized = await tableExists(connection)
  const records = initialized ? await readRecords(connection) : []
  const live = records.filter((record) => record.rolledBackAt === null)
  const applied = live.filter((record) => record.finishedAt !== null)
  const failed = live.filter((record) => record.finishedAt === null)
  const appliedNames = new Set(applied.map((record) => record.migrationName))
  const fileByName = new Map(files.map((file) => [file.name, file]))
  return {
    initialized,
    applied,
    pending: files.filter((file) => !appliedNames.has(file.name)),
    failed,
    edited: applied.filter((record) => {
      const file = fileByName.get(record.migrationName)
      return file !== undefined && file.checksum !== record.checksum
    }),
    missingLocally: applied.filter((record) => !fileByName.has(record.migrationName)),
  }
}

async function withLock<T>(connection: Connection, timeoutSeconds: number, work: () => Promise<T>): Promise<T> {
  const [row] = await connection.query<{ got: number | bigint | null }[]>('SELECT GET_LOCK(?, ?) AS got', [
    LOCK_NAME,
    timeoutSeconds,
  ])
  if (Number(row?.got) !== 1) {
    throw new MigrationError(
      'lock_timeout',
      `Another deployer held the migration lock '${LOCK_NAME}' for more than ${timeoutSeconds}s; try again when it has finished`,
    )
  }
  try {
    return await work()
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]).catch(() => undefined)
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

function refuseUnsafeHistory(status: MigrationStatus): void {
  const [failed] = status.failed
  if (failed) {
    throw new MigrationError(
      'P3009',
      `migrate found failed migrations in the target database, new migrations will not be applied. ` +
        `Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n` +
        `The \`${failed.migrationName}\` migration started at ${failed.startedAt.toISOString()} failed\n` +
        `Fix the database by hand, then mark it: npx prisma migrate resolve --rolled-back ${failed.migrationName} ` +
        `(or --applied, if you completed it by hand), or npm run db:migrate -- resolve --rolled-back ${failed.migrationName}`,
    )
  }
  if (status.edited.length > 0) {
    const names = status.edited.map((record) => record.migrationName).join(', ')
    throw new MigrationError(
      'checksum_mismatch',
      `The migration file of already-applied migration ${names} was changed after it was applied. ` +
        `Restore the original file and put the change in a new migration.`,
    )
  }
}

/**
 * Applies pending migrations the way `prisma migrate deploy` does: under Prisma's advisory lock, in name
 * order, each one recorded in `_prisma_migrations` before it runs and marked finished after. A failure
 * is recorded with its error and blocks later deploys until it is resolved (Prisma's P3009).
 * The connection must allow multiple statements.
 */
export async function deployMigrations(
  connection: Connection,
  files: MigrationFile[],
  options: DeployOptions = {},
): Promise<DeployResult> {
  const log = options.log ?? (() => undefined)
  const now = options.now ?? (() => new Date())
  return withLock(connection, options.lockTimeoutSeconds ?? 60, async () => {
    await connection.query(CREATE_MIGRATIONS_TABLE)
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
        'INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name, applied_steps_count) VALUES (?, ?, ?, ?, 0)',
        [id, file.checksum, now(), file.name],
      )
      try {
        await connection.query(file.script)
      } catch (error) {
        const logs = error instanceof Error ? error.message : String(error)
        await connection.query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [logs, id])
        throw new MigrationError(
          'P3018',
          `A migration failed to apply. New migrations cannot be applied before the error is recovered from.\n` +
            `Migration name: ${file.name}\nDatabase error: ${logs}`,
        )
      }
      await connection.query('UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = ?', [id])
      await connection.query('UPDATE _prisma_migrations SET finished_at = ? WHERE id = ?', [now(), id])
      applied.push(file.name)
      log(`Applied migration ${file.name} (${Date.now() - started} ms)`)
    }
    return { applied, alreadyApplied: status.applied.length }
  })
}
