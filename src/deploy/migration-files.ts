import { createHash } from 'node:crypto'
import { readdirSync, type Dirent } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { MigrationError } from './migration-error.js'

// src/deploy and dist/deploy sit at the same depth below the project root.
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'prisma', 'migrations')

export interface MigrationFile {
  name: string
  script: string
  /** Lowercase hex SHA-256 of migration.sql, as Prisma stores it in `_prisma_migrations.checksum`. */
  checksum: string
}

export const checksumOf = (script: string) => createHash('sha256').update(script).digest('hex')

/** Like Prisma, a file whose only change is its line endings (a Windows checkout) still matches. */
export function checksumMatches(script: string, checksum: string): boolean {
  return [script, script.replaceAll('\r\n', '\n'), script.replaceAll(/\r?\n/g, '\r\n')].some(
    (variant) => checksumOf(variant) === checksum,
  )
}

/** Prisma refuses to apply migrations written for another database (P3019); so do we. */
async function checkLockfileProvider(dir: string): Promise<void> {
  let lockfile: string
  try {
    lockfile = await readFile(path.join(dir, 'migration_lock.toml'), 'utf8')
  } catch {
    return
  }
  const provider = /^\s*provider\s*=\s*"([^"]+)"/m.exec(lockfile)?.[1]
  if (provider && provider !== 'mysql') {
    throw new MigrationError(
      'P3019',
      `The migrations in ${dir} were written for "${provider}" (migration_lock.toml), not for mysql (P3019).`,
    )
  }
}

/** One folder per migration, applied in name order (Prisma's order). */
const migrationNames = (entries: Dirent[]) =>
  entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()

/** The name of the newest migration in `dir`: once it is applied, so are all the others. */
export const latestMigrationName = (dir: string): string | undefined =>
  migrationNames(readdirSync(dir, { withFileTypes: true })).at(-1)

/** The migrations in `dir`, one folder each with a migration.sql, in name order (Prisma's order). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  await checkLockfileProvider(dir)
  const names = migrationNames(await readdir(dir, { withFileTypes: true }))
  return Promise.all(
    names.map(async (name) => {
      const script = await readFile(path.join(dir, name, 'migration.sql'), 'utf8')
      return { name, script, checksum: checksumOf(script) }
    }),
  )
}
