import t, { type Test } from 'tap'
import { loadDatabaseConfig } from '../../src/config.js'
import { isDatabaseError } from '../../src/db/prisma-errors.js'
import { openDatabase } from '../../src/db/prisma.js'
import { openSession } from '../../src/deploy/migrate.js'
import { createUserRepository } from '../../src/users/user-repository.js'
import { build } from '../helpers/build.js'
import { createProxiedTestDatabase, createTestDatabase } from '../helpers/database.js'
import { login, PASSWORD, problemOf, refresh, registerUser } from '../helpers/http.js'

const NEW_PASSWORD = 'a brand new, much longer passphrase 42'

/** A session on `url` that the test closes, for arranging and inspecting rows behind the app's back. */
async function sqlSession(t: Test, url: string) {
  const session = await openSession(url)
  t.teardown(() => session.end())
  return session
}

const hashOf = async (session: Awaited<ReturnType<typeof openSession>>, id: string) =>
  ((await session.query<{ password_hash: string; session_epoch: number }[]>('SELECT password_hash, session_epoch FROM users WHERE id = ?', [id]))[0])

t.test('a transaction commits every write or none: a failing second statement undoes the first', async (t) => {
  const database = await createTestDatabase(t)
  const db = openDatabase(loadDatabaseConfig({ DATABASE_URL: database.url }))
  t.teardown(() => db.close())
  const users = createUserRepository(db.prisma)
  const session = await sqlSession(t, database.url)
  await session.query("INSERT INTO users (id, email, password_hash, updated_at) VALUES ('u1', 'tx@example.com', 'old', NOW(3))")
  // The second statement of the transaction hits this and fails, as a lost connection or a constraint would.
  await session.query(
    "CREATE TRIGGER refuse_epoch BEFORE UPDATE ON users FOR EACH ROW BEGIN IF NEW.session_epoch > 5 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END",
  )
  await session.query("UPDATE users SET session_epoch = 5 WHERE id = 'u1'")

  const failed = db.transaction(async (tx) => {
    await users.upgradePasswordHash('u1', 'old', 'new', tx)
    await users.bumpSessionEpoch('u1', tx)
  })
  await t.rejects(failed)
  t.ok(isDatabaseError(await failed.catch((error: unknown) => error)), 'a database error: the API answers 503')
  t.same(await hashOf(session, 'u1'), { password_hash: 'old', session_epoch: 5 }, 'the first write was rolled back')

  await session.query('DROP TRIGGER refuse_epoch')
  await db.transaction(async (tx) => {
    await users.upgradePasswordHash('u1', 'old', 'new', tx)
    await users.bumpSessionEpoch('u1', tx)
  })
  t.same(await hashOf(session, 'u1'), { password_hash: 'new', session_epoch: 6 }, 'without the fault both land')
})

t.test('the per-call deadline holds for a transaction as a whole, and a stalled one commits nothing', async (t) => {
  const { database, proxy, url } = await createProxiedTestDatabase(t)
  const db = openDatabase(loadDatabaseConfig({ DATABASE_URL: url, DB_OPERATION_TIMEOUT_MS: '1500', DB_ACQUIRE_TIMEOUT_MS: '1000' }))
  t.teardown(() => db.close())
  const users = createUserRepository(db.prisma)
  const session = await sqlSession(t, database.url)
  await session.query("INSERT INTO users (id, email, password_hash, updated_at) VALUES ('u2', 'stall@example.com', 'old', NOW(3))")

  const started = Date.now()
  const stalled = db.transaction(async (tx) => {
    await users.upgradePasswordHash('u2', 'old', 'new', tx)
    // The network goes silent between the two statements: no error, no answer.
    proxy.stall()
    await users.bumpSessionEpoch('u2', tx)
  })
  const error = await stalled.catch((caught: unknown) => caught)
  const elapsed = Date.now() - started
  t.ok(isDatabaseError(error), `rejected with a database error (${(error as Error).name})`)
  t.ok(elapsed < 1500 + 1000, `within the deadline: ${elapsed} ms`)
  proxy.restore()
  t.same(await hashOf(session, 'u2'), { password_hash: 'old', session_epoch: 0 }, 'nothing of it was committed')
})

t.test('a password change that fails in the database changes neither the password nor the logins', async (t) => {
  const { app, database } = await build(t)
  const user = await registerUser(app)
  const tokens = await login(app, user.email)
  const session = await sqlSession(t, database.url)
  // Refuse exactly the statement that would end the logins; the hash is written by the same statement.
  await session.query(
    "CREATE TRIGGER refuse_logout BEFORE UPDATE ON users FOR EACH ROW BEGIN IF NEW.session_epoch <> OLD.session_epoch THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF; END",
  )
  const change = await app.inject({
    method: 'POST',
    url: '/me/password',
    headers: { authorization: `Bearer ${tokens.accessToken}` },
    payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
  })
  t.equal(change.statusCode, 503)
  t.equal(problemOf(change).code, 'service_unavailable')
  t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD } })).statusCode, 200, 'the old password still works')
  t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200, 'and so do the logins: never one without the other')
})
