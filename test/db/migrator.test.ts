import { writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Connection } from 'mariadb'
import t, { type Test } from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { checksumOf, MIGRATIONS_DIR, readMigrations } from '../../src/deploy/migration-files.js'
import { deployMigrations, migrationStatus, resolveMigration } from '../../src/deploy/migrator.js'
import { createTestDatabase } from '../helpers/database.js'

// The table as Prisma's schema engine creates it on MySQL (prisma-engines, sql-schema-connector,
// flavour/mysql.rs `create_migrations_table`), copied here independently of src/deploy/migrator.ts.
const PRISMA_MIGRATIONS_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`

async function session(t: Test, url: string): Promise<Connection> {
  const connection = await openSession(url)
  t.teardown(() => connection.end())
  return connection
}

/** A scratch migrations folder: name -> SQL. */
function migrationsDir(t: Test, migrations: Record<string, string>): string {
  const dir = t.testdir({})
  for (const [name, sql] of Object.entries(migrations)) {
    mkdirSync(path.join(dir, name))
    writeFileSync(path.join(dir, name, 'migration.sql'), sql)
  }
  return dir
}

const rowsOf = (connection: Connection) =>
  connection.query<Record<string, unknown>[]>({
    sql: 'SELECT * FROM _prisma_migrations ORDER BY migration_name',
    dateStrings: true,
  })

t.test('applies the project migrations, records them as Prisma does, and a re-run is a no-op', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const connection = await session(t, database.url)
  const files = await readMigrations(MIGRATIONS_DIR)
  const lines: string[] = []

  const first = await deployMigrations(connection, files, { log: (line) => lines.push(line) })
  t.same(first.applied, files.map((file) => file.name))
  t.match(lines, [/^Applied migration 20261125090000_init \(\d+ ms\)$/])

  const second = await deployMigrations(connection, files)
  t.same(second, { applied: [], alreadyApplied: files.length }, 're-running applies nothing')

  const rows = await rowsOf(connection)
  t.equal(rows.length, files.length, 'one row per migration, not two')
  const [row] = rows
  t.match(row, {
    id: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    checksum: checksumOf(files[0]!.script),
    migration_name: '20261125090000_init',
    logs: null,
    rolled_back_at: null,
    applied_steps_count: 1,
  })
  t.match(row?.checksum, /^[0-9a-f]{64}$/, 'lowercase hex SHA-256')
  t.ok(String(row?.finished_at) >= String(row?.started_at), 'finished after it started')
  t.ok(Math.abs(Date.parse(`${String(row?.started_at).replace(' ', 'T')}Z`) - Date.now()) < 60_000, 'timestamps are UTC')
})

t.test('the bookkeeping table matches Prisma’s column for column', async (t) => {
  const ours = await createTestDatabase(t)
  const prismas = await createTestDatabase(t, { migrate: false })
  const prismaSession = await session(t, prismas.url)
  await prismaSession.query(PRISMA_MIGRATIONS_DDL)
  const describe = async (url: string) => {
    const connection = await session(t, url)
    return connection.query(
      `SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, CHARACTER_SET_NAME,
              COLLATION_NAME, COLUMN_KEY, EXTRA
         FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_prisma_migrations'
        ORDER BY ORDINAL_POSITION`,
    )
  }
  const expected = await describe(prismas.url)
  t.equal(expected.length, 8)
  t.same(await describe(ours.url), expected)
})

t.test('two deployers started together apply each migration exactly once', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const dir = migrationsDir(t, {
    '001_a': 'CREATE TABLE a (id INT PRIMARY KEY);\nDO SLEEP(0.3);',
    '002_b': 'CREATE TABLE b (id INT PRIMARY KEY);',
    '003_c': 'CREATE TABLE c (id INT PRIMARY KEY);',
  })
  const files = await readMigrations(dir)
  const [one, two] = [await session(t, database.url), await session(t, database.url)]
  const results = await Promise.all([deployMigrations(one, files), deployMigrations(two, files)])
  t.same(results.flatMap((result) => result.applied).sort(), ['001_a', '002_b', '003_c'], 'each applied by exactly one of them')
  t.same(
    (await rowsOf(one)).map((row) => row.migration_name),
    ['001_a', '002_b', '003_c'],
  )
})

t.test('a failed migration is recorded with its logs and blocks later deploys until resolved', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const dir = migrationsDir(t, {
    '001_ok': 'CREATE TABLE ok (id INT PRIMARY KEY);',
    '002_broken': 'CREATE TABLE half (id INT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);',
    '003_later': 'CREATE TABLE later (id INT PRIMARY KEY);',
  })
  const connection = await session(t, database.url)
  await t.rejects(deployMigrations(connection, await readMigrations(dir)), {
    code: 'P3018',
    message: /Migration name: 002_broken[\s\S]*no_such_table/,
  })
  const failed = (await rowsOf(connection)).find((row) => row.migration_name === '002_broken')
  t.match(failed, { finished_at: null, rolled_back_at: null, applied_steps_count: 0, logs: /no_such_table/ })
  t.notOk((await rowsOf(connection)).some((row) => row.migration_name === '003_later'), 'stopped at the failure')

  await t.rejects(deployMigrations(connection, await readMigrations(dir)), {
    code: 'P3009',
    message: /The `002_broken` migration started at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC failed with the following logs:\n.*no_such_table/,
  })

  // The operator repairs the database and the migration, then marks the failed attempt rolled back.
  await connection.query('DROP TABLE half')
  writeFileSync(path.join(dir, '002_broken', 'migration.sql'), 'CREATE TABLE half (id INT PRIMARY KEY);')
  await resolveMigration(connection, await readMigrations(dir), { rolledBack: '002_broken' })
  const result = await deployMigrations(connection, await readMigrations(dir))
  t.same(result.applied, ['002_broken', '003_later'])
  const status = await migrationStatus(connection, await readMigrations(dir))
  t.same([status.pending, status.failed, status.edited], [[], [], []])
})

t.test('resolve refuses what makes no sense, like Prisma', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const dir = migrationsDir(t, { '001_a': 'CREATE TABLE a (id INT PRIMARY KEY);' })
  const connection = await session(t, database.url)
  const files = await readMigrations(dir)
  await deployMigrations(connection, files)
  await t.rejects(resolveMigration(connection, files, { rolledBack: '001_a' }), { code: 'P3012' })
  await t.rejects(resolveMigration(connection, files, { rolledBack: '999_never' }), { code: 'P3011' })
  await t.rejects(resolveMigration(connection, files, { applied: '001_a' }), { code: 'P3008' })
  await t.rejects(resolveMigration(connection, files, { applied: '999_missing' }), { code: 'P3017' })
})

t.test('an applied migration whose file changed is refused, naming it', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const dir = migrationsDir(t, {
    '001_a': 'CREATE TABLE a (id INT PRIMARY KEY);\n',
    '002_b': 'CREATE TABLE b (id INT PRIMARY KEY);\n',
  })
  const connection = await session(t, database.url)
  await deployMigrations(connection, await readMigrations(dir))

  writeFileSync(path.join(dir, '001_a', 'migration.sql'), 'CREATE TABLE a (id INT PRIMARY KEY);\r\n')
  t.same((await deployMigrations(connection, await readMigrations(dir))).applied, [], 'line endings alone are no change')

  writeFileSync(path.join(dir, '002_b', 'migration.sql'), 'CREATE TABLE b (id BIGINT PRIMARY KEY);\n')
  await t.rejects(deployMigrations(connection, await readMigrations(dir)), {
    code: 'checksum_mismatch',
    message: /002_b/,
  })
  t.same(
    (await migrationStatus(connection, await readMigrations(dir))).edited.map((record) => record.migrationName),
    ['002_b'],
  )
})

t.test('a database with tables but no migration history is refused (P3005), and can be baselined', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const dir = migrationsDir(t, {
    '001_existing': 'CREATE TABLE existing (id INT PRIMARY KEY);',
    '002_new': 'CREATE TABLE newer (id INT PRIMARY KEY);',
  })
  const connection = await session(t, database.url)
  await connection.query('CREATE TABLE existing (id INT PRIMARY KEY)')
  await t.rejects(deployMigrations(connection, await readMigrations(dir)), { code: 'P3005', message: /existing/ })

  await resolveMigration(connection, await readMigrations(dir), { applied: '001_existing' })
  t.same((await deployMigrations(connection, await readMigrations(dir))).applied, ['002_new'])
})

t.test('a database holding only views counts as empty, as in Prisma (no P3005)', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  const dir = migrationsDir(t, { '001_a': 'CREATE TABLE a (id INT PRIMARY KEY);' })
  const connection = await session(t, database.url)
  await connection.query('CREATE VIEW reporting AS SELECT 1 AS one')
  t.same((await deployMigrations(connection, await readMigrations(dir))).applied, ['001_a'])
})

t.test('migrations written for another database are refused (P3019)', async (t) => {
  const dir = migrationsDir(t, { '001_a': 'SELECT 1;' })
  writeFileSync(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n')
  await t.rejects(readMigrations(dir), { code: 'P3019' })
})
