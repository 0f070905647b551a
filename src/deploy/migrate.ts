import { spawn } from 'node:child_process'
import { accessSync, constants, readdirSync } from 'node:fs'
import path from 'node:path'
import { createConnection, type Connection } from 'mariadb'
import { databaseName, poolConfigFromUrl, serverUrl } from '../db/connection-options.js'
import { MIGRATIONS_DIR, PROJECT_ROOT, readMigrations } from './migration-files.js'
import { deployMigrations, resolveMigration, type DeployResult, type Resolution } from './migrator.js'

const STUB_ENGINE = 'schema-engine-unavailable.sh'

const CONNECTION_LIMITS = { poolSize: 1, connectTimeoutMs: 5000, acquireTimeoutMs: 5000 }

/** A single session (advisory locks are per session) that may run multi-statement migration scripts. */
export function openSession(databaseUrl: string): Promise<Connection> {
  const { connectionLimit: _unused, acquireTimeout: _unused2, ...options } = poolConfigFromUrl(databaseUrl, CONNECTION_LIMITS)
  return createConnection({ ...options, multipleStatements: true })
}

export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl)
  const connection = await openSession(serverUrl(databaseUrl))
  try {
    const result = await connection.query<{ warningStatus: number }>(
      // The character set Prisma's `migrate dev` uses when it creates a MySQL database.
      `CREATE DATABASE IF NOT EXISTS \`${name.replaceAll('`', '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    )
    return result.warningStatus === 0
  } finally {
    await connection.end()
  }
}

/**
 * The path of a usable Prisma schema engine, or undefined where none can be had (air-gapped hosts): the
 * configured one (PRISMA_SCHEMA_ENGINE_BINARY, through config), else one Prisma downloaded.
 */
export function findSchemaEngine(configured?: string): string | undefined {
  const candidates: string[] = []
  if (configured) candidates.push(configured)
  const enginesDir = path.join(PROJECT_ROOT, 'node_modules', '@prisma', 'engines')
  try {
    for (const file of readdirSync(enginesDir)) if (file.startsWith('schema-engine')) candidates.push(path.join(enginesDir, file))
  } catch {
    // No engines package directory: nothing downloaded.
  }
  return candidates.find((candidate) => {
    if (path.basename(candidate) === STUB_ENGINE) return false
    try {
      accessSync(candidate, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function runPrisma(args: string[], databaseUrl: string, engine: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'prisma', ...args], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_SCHEMA_ENGINE_BINARY: engine, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`prisma ${args.join(' ')} exited with ${code}`))))
  })
}

export interface MigrateOptions {
  createDatabase?: boolean
  log?: (line: string) => void
  /** Force the built-in applier even where Prisma's engine is present (tests). */
  builtIn?: boolean
  /** A schema engine binary from configuration (PRISMA_SCHEMA_ENGINE_BINARY). */
  schemaEngine?: string
}

/** Which tool did the work: Prisma's CLI with its schema engine, or the applier in this project. */
export type MigratePath = 'prisma' | 'built-in'

/**
 * Brings the database up to date with prisma/migrations: `prisma migrate deploy` when Prisma's schema
 * engine is available, otherwise the built-in applier, which keeps the same `_prisma_migrations`
 * bookkeeping so the two can take turns on one database.
 */
export async function migrateDatabase(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<DeployResult & { path: MigratePath }> {
  const log = options.log ?? (() => undefined)
  if (options.createDatabase && (await createDatabaseIfMissing(databaseUrl))) {
    log(`Created database ${databaseName(databaseUrl)}`)
  }
  const engine = options.builtIn ? undefined : findSchemaEngine(options.schemaEngine)
  if (engine) {
    log(`Migrating with prisma migrate deploy (schema engine: ${engine})`)
    await runPrisma(['migrate', 'deploy'], databaseUrl, engine)
    return { path: 'prisma', applied: [], alreadyApplied: 0 }
  }
  log('Migrating with the built-in applier (Prisma schema engine not installed; same _prisma_migrations bookkeeping)')
  const files = await readMigrations(MIGRATIONS_DIR)
  const connection = await openSession(databaseUrl)
  try {
    const result = await deployMigrations(connection, files, { log })
    log(
      result.applied.length === 0
        ? `Database is up to date: ${result.alreadyApplied} migration(s) already applied`
        : `Applied ${result.applied.length} migration(s); ${result.alreadyApplied} were already applied`,
    )
    return { path: 'built-in', ...result }
  } finally {
    await connection.end()
  }
}

/** Records the outcome of a failed migration repaired by hand: `prisma migrate resolve`, or the same built in. */
export async function resolveFailedMigration(
  databaseUrl: string,
  resolution: Resolution,
  options: Pick<MigrateOptions, 'log' | 'builtIn' | 'schemaEngine'> = {},
): Promise<MigratePath> {
  const log = options.log ?? (() => undefined)
  const engine = options.builtIn ? undefined : findSchemaEngine(options.schemaEngine)
  const [flag, name] = 'rolledBack' in resolution ? ['--rolled-back', resolution.rolledBack] : ['--applied', resolution.applied]
  if (engine) {
    log(`Resolving with prisma migrate resolve (schema engine: ${engine})`)
    await runPrisma(['migrate', 'resolve', flag, name], databaseUrl, engine)
    return 'prisma'
  }
  const files = await readMigrations(MIGRATIONS_DIR)
  const connection = await openSession(databaseUrl)
  try {
    await resolveMigration(connection, files, resolution)
    log(`Migration ${name} marked as ${'rolledBack' in resolution ? 'rolled back' : 'applied'}.`)
    return 'built-in'
  } finally {
    await connection.end()
  }
}
