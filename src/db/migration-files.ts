import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

export interface MigrationFile {
  name: string
  script: string
  /** Lowercase hex SHA-256 of migration.sql, as Prisma stores it in `_prisma_migrations.checksum`. */
  checksum: string
}

export const checksumOf = (script: string) => createHash('sha256').update(script).digest('hex')

/** The migrations in `dir`, one folder each with a migration.sql, in name order (Prisma's order). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
  return Promise.all(
    names.map(async (name) => {
      const script = await readFile(path.join(dir, name, 'migration.sql'), 'utf8')
      return { name, script, checksum: checksumOf(script) }
    }),
  )
}
