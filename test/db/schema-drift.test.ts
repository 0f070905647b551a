import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t, { type Test } from 'tap'
import type { Connection } from 'mariadb'
import { openSession } from '../../src/deploy/migrate.js'
import { PROJECT_ROOT } from '../../src/deploy/migration-files.js'
import { findSchemaDrift } from '../helpers/schema-drift.js'
import { createTestDatabase } from '../helpers/database.js'

const SCHEMA = await readFile(path.join(PROJECT_ROOT, 'prisma', 'schema.prisma'), 'utf8')

/** A session on a fresh database migrated with prisma/migrations, closed and dropped when `t` ends. */
async function migratedSession(t: Test): Promise<Connection> {
  const database = await createTestDatabase(t)
  const session = await openSession(database.url)
  t.teardown(() => session.end())
  return session
}

/** The real schema with one edit, written to a scratch directory and read back as a developer's copy. */
async function editedSchema(t: Test, search: string | RegExp, replacement: string): Promise<string> {
  const edited = SCHEMA.replace(search, replacement)
  if (edited === SCHEMA) throw new Error(`the edit found nothing to replace: ${search}`)
  const file = path.join(t.testdir(), 'schema.prisma')
  await writeFile(file, edited)
  return readFile(file, 'utf8')
}

/** Exactly one drift message, matching `pattern`; the whole list is in the failure message. */
function assertSingleDrift(t: Test, drift: string[], pattern: RegExp): void {
  t.equal(drift.length, 1, `one drift message, got:\n${drift.join('\n')}`)
  t.match(drift[0], pattern)
}

const session = await migratedSession(t)

t.test('prisma/schema.prisma agrees with a database built from prisma/migrations', async (t) => {
  const drift = await findSchemaDrift(SCHEMA, session)
  t.same(drift, [], `schema.prisma and prisma/migrations disagree:\n${drift.join('\n')}`)
})

t.test('a field added to the schema but not migrated', async (t) => {
  const schema = await editedSchema(t, '  @@map("users")', '  displayName String? @db.VarChar(100)\n\n  @@map("users")')
  assertSingleDrift(t, await findSchemaDrift(schema, session), /^User\.displayName: column users\.displayName is missing$/)
})

t.test('an index dropped from the schema but still migrated', async (t) => {
  const schema = await editedSchema(t, '  @@index([expiresAt])\n', '')
  assertSingleDrift(
    t,
    await findSchemaDrift(schema, session),
    /^RevokedToken: index revoked_tokens_expires_at_idx on revoked_tokens\(expires_at\) is in the database but not in the schema$/,
  )
})

t.test('a field made required in the schema but still nullable in the database', async (t) => {
  const schema = await editedSchema(t, /successorJti(\s+)String\?/, 'successorJti$1String ')
  assertSingleDrift(
    t,
    await findSchemaDrift(schema, session),
    /^RevokedToken\.successorJti: column revoked_tokens\.successor_jti is NULL, but the field is required$/,
  )
})

t.test('a column type changed in the schema only', async (t) => {
  const schema = await editedSchema(t, '@unique @db.VarChar(254)', '@unique @db.VarChar(320)')
  assertSingleDrift(
    t,
    await findSchemaDrift(schema, session),
    /^User\.email: column users\.email is varchar\(254\), expected varchar\(320\)$/,
  )
})

t.test('a column added to the database but not to the schema', async (t) => {
  const session = await migratedSession(t)
  await session.query('ALTER TABLE users ADD COLUMN nickname VARCHAR(20) NULL')
  assertSingleDrift(
    t,
    await findSchemaDrift(SCHEMA, session),
    /^User: column users\.nickname \(varchar\(20\)\) is in the database but not in the schema$/,
  )
})

t.test('the index MariaDB adds for a foreign key that no declared index covers is not drift', async (t) => {
  const session = await migratedSession(t)
  await session.query(
    `ALTER TABLE revoked_tokens DROP FOREIGN KEY revoked_tokens_user_id_fkey;
     ALTER TABLE revoked_tokens DROP INDEX revoked_tokens_user_id_scope_id_idx;
     ALTER TABLE revoked_tokens ADD CONSTRAINT revoked_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
       ON DELETE CASCADE ON UPDATE CASCADE`,
  )
  const implicit = await session.query<{ columnName: string }[]>(
    `SELECT COLUMN_NAME AS columnName FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'revoked_tokens' AND INDEX_NAME = 'revoked_tokens_user_id_fkey'`,
  )
  t.same(implicit, [{ columnName: 'user_id' }], 'MariaDB gave the foreign key an index of its own')
  const schema = await editedSchema(t, '  @@index([userId, scope, id])\n', '')
  const drift = await findSchemaDrift(schema, session)
  t.same(drift, [], `unexpected drift:\n${drift.join('\n')}`)
})

t.test('a schema that does not parse is an error, not drift', async (t) => {
  const schema = await editedSchema(t, 'model User {', 'model User {\n  broken')
  await t.rejects(findSchemaDrift(schema, session), /^The Prisma schema does not parse: .*broken/s)
})
