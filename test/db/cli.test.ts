import { execFile } from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { findSchemaEngine, PROJECT_ROOT } from '../../src/db/migrate.js'
import { createTestDatabase } from '../helpers/database.js'

const run = promisify(execFile)
const CLI = path.join(PROJECT_ROOT, 'src', 'db', 'cli.ts')

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
  t.match(migrate.output, /Applied migration 20261125090000_init \(\d+ ms\)/)
  t.match(migrate.output, /Applied 1 migration\(s\); 0 were already applied/)

  const again = await cli(['migrate'], database.url)
  t.match(again.output, /Database is up to date: 1 migration\(s\) already applied/)

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
  t.equal(findSchemaEngine({ PRISMA_SCHEMA_ENGINE_BINARY: stub }), undefined)
  const dir = t.testdir({ 'schema-engine': '#!/bin/sh\nexit 0\n' })
  const engine = path.join(dir, 'schema-engine')
  chmodSync(engine, 0o755)
  t.equal(findSchemaEngine({ PRISMA_SCHEMA_ENGINE_BINARY: engine }), engine)
  writeFileSync(engine, 'not executable')
  chmodSync(engine, 0o644)
  t.equal(findSchemaEngine({ PRISMA_SCHEMA_ENGINE_BINARY: engine }), undefined, 'not executable: not usable')
})
