import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, readdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { findSchemaEngine, openSession } from '../../src/deploy/migrate.js'
import { PROJECT_ROOT } from '../../src/deploy/migration-files.js'
import { build } from '../helpers/build.js'
import { createTestDatabase, TEST_SERVER_URL, testDatabaseUrl } from '../helpers/database.js'
import { post, refresh, session } from '../helpers/http.js'

const run = promisify(execFile)
// Every migration this build ships, in the order they apply.
const MIGRATIONS = readdirSync(path.join(PROJECT_ROOT, 'prisma', 'migrations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()
const CLI = path.join(PROJECT_ROOT, 'src', 'deploy', 'cli.ts')

/** Runs `db:<command>` from source, as an operator would, and returns its exit code and output. */
async function cli(args: string[], databaseUrl: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_SCHEMA_ENGINE_BINARY: '' },
    })
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, output: failed.stdout + failed.stderr }
  }
}

t.test('db:migrate says which path it took, applies, summarises; db:check then reports up to date', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })

  const behind = await cli(['check'], database.url)
  t.equal(behind.code, 1, 'check exits 1 while migrations are pending')
  t.match(behind.output, /Connected: server version 10\.\d+\.\d+-MariaDB/)
  t.match(behind.output, /Pending: 20261125090000_init/)

  const migrate = await cli(['migrate'], database.url)
  t.equal(migrate.code, 0, migrate.output)
  t.match(migrate.output, /Migrating with the built-in applier/)
  for (const name of MIGRATIONS) t.match(migrate.output, new RegExp(`Applied migration ${name} \\(\\d+ ms\\)`))
  t.match(migrate.output, `Applied ${MIGRATIONS.length} migration(s); 0 were already applied`)

  const again = await cli(['migrate'], database.url)
  t.match(again.output, `Database is up to date: ${MIGRATIONS.length} migration(s) already applied`)

  const check = await cli(['check'], database.url)
  t.equal(check.code, 0, check.output)
  t.match(check.output, /Database schema is up to date\./)
})

t.test('db:check exits 1 with a readable message when the database is unreachable', async (t) => {
  const result = await cli(['check'], 'mysql://app:s3cret@127.0.0.1:1/nowhere')
  t.equal(result.code, 1)
  t.match(result.output, /Database: mysql:\/\/app:\*\*\*@127\.0\.0\.1:1\/nowhere/, 'the password is masked')
  t.notMatch(result.output, /s3cret/)
  t.match(result.output, /Database error/)
})

t.test('db:migrate --create-database creates a missing database', async (t) => {
  const database = await createTestDatabase(t, { migrate: false })
  await database.drop()
  const result = await cli(['migrate', '--create-database'], database.url)
  t.equal(result.code, 0, result.output)
  t.match(result.output, new RegExp(`Created database ${database.name}`))
})

t.test('an unknown command or a bad resolve prints usage and exits 2', async (t) => {
  t.equal((await cli(['frobnicate'], 'mysql://root@127.0.0.1:1/x')).code, 2)
  t.equal((await cli(['resolve'], 'mysql://root@127.0.0.1:1/x')).code, 2)
})

t.test('the schema engine is used when one is really there, never the offline stub', async (t) => {
  const stub = path.join(PROJECT_ROOT, 'scripts', 'schema-engine-unavailable.sh')
  t.equal(findSchemaEngine(stub), undefined)
  const dir = t.testdir({ 'schema-engine': '#!/bin/sh\nexit 0\n' })
  const engine = path.join(dir, 'schema-engine')
  chmodSync(engine, 0o755)
  t.equal(findSchemaEngine(engine), engine)
  writeFileSync(engine, 'not executable')
  chmodSync(engine, 0o644)
  t.equal(findSchemaEngine(engine), undefined, 'not executable: not usable')
})

/** The SQL block of the README's "Running on a MariaDB server" runbook, as statements. */
async function runbookStatements(): Promise<string[]> {
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Running on a MariaDB server'))
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1]
  if (!block) throw new Error('the runbook has no SQL block')
  const sql = block
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
  return sql
    .split(';')
    .map((statement) => statement.trim())
    .filter(Boolean)
}

t.test("the runbook's users and GRANTs: jwt_migrate deploys, jwt_app serves and cannot change the schema", async (t) => {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`
  const names = { database: `jwt_test_${suffix}`, migrate: `jwt_migrate_${suffix}`, app: `jwt_app_${suffix}` }
  const password = randomBytes(12).toString('hex')
  const statements = (await runbookStatements()).map((statement) =>
    statement
      .replaceAll('jwt_api', names.database)
      .replaceAll("'jwt_migrate'", `'${names.migrate}'`)
      .replaceAll("'jwt_app'", `'${names.app}'`)
      // The tests reach MariaDB from this host; the runbook's example network stands for it.
      .replaceAll("'10.0.0.%'", "'%'")
      .replace(/<[a-z ]+password>/g, password),
  )
  t.ok(statements.some((statement) => statement.startsWith('GRANT')), 'the runbook grants privileges')

  const admin = await openSession(TEST_SERVER_URL)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS \`${names.database}\``)
    await admin.query(`DROP USER IF EXISTS '${names.migrate}'@'%', '${names.app}'@'%'`)
    await admin.end()
  })
  for (const statement of statements) await admin.query(statement)

  const urlFor = (user: string) => {
    const url = new URL(testDatabaseUrl(names.database))
    url.username = user
    url.password = password
    return url.toString()
  }
  const migrateUrl = urlFor(names.migrate)
  const appUrl = urlFor(names.app)

  const migrate = await cli(['migrate'], migrateUrl)
  t.equal(migrate.code, 0, migrate.output)
  t.match(migrate.output, `Applied ${MIGRATIONS.length} migration(s)`)
  t.equal((await cli(['check'], appUrl)).code, 0, 'jwt_app can read the migration history: db:check says up to date')

  const appSession = await openSession(appUrl)
  await t.rejects(appSession.query('CREATE TABLE intruder (id INT)'), /command denied/i, 'jwt_app cannot create tables')
  await t.rejects(appSession.query('DROP TABLE users'), /command denied/i, 'nor drop them')
  await appSession.end()

  // The whole token lifecycle, through HTTP, as jwt_app.
  const { app } = await build(t, {}, { database: { name: names.database, url: appUrl, drop: async () => undefined } })
  t.equal((await app.inject({ url: '/health/ready' })).statusCode, 200)
  const { tokens } = await session(app)
  const rotated = await refresh(app, tokens.refreshToken!)
  t.equal(rotated.statusCode, 200, 'refresh writes the denylist')
  const next = rotated.json().refreshToken as string
  t.equal((await post(app, '/auth/logout', { refreshToken: next })).statusCode, 204, 'logout revokes the family')
  const logoutAll = await post(app, '/auth/logout-all', undefined, { authorization: `Bearer ${tokens.accessToken}` })
  t.equal(logoutAll.statusCode, 204, 'logout-all moves the session epoch on')

  const prune = await cli(['prune'], appUrl)
  t.equal(prune.code, 0, `jwt_app can prune the denylist: ${prune.output}`)
})
