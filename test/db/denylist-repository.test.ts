// The hot statements of refresh, login and logout are raw SQL (src/tokens/revoked-token-repository.ts,
// src/users/user-repository.ts). These tests hold them to the ORM on a database built from
// prisma/migrations: what the raw statements write, the ORM reads back unchanged, and the other way round.
// A misspelt column fails here; the drift test keeps those columns equal to schema.prisma.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { loadDatabaseConfig } from '../../src/config.js'
import { Prisma } from '../../src/generated/prisma/client.js'
import { isUniqueViolation, isWriteConflict } from '../../src/db/prisma-errors.js'
import { openDatabase } from '../../src/db/prisma.js'
import { createRevokedTokenRepository } from '../../src/tokens/revoked-token-repository.js'
import { createUserRepository } from '../../src/users/user-repository.js'
import { createTestDatabase } from '../helpers/database.js'

const database = await createTestDatabase(t)
const db = openDatabase(loadDatabaseConfig({ DATABASE_URL: database.url, DB_OPERATION_TIMEOUT_MS: '5000' }))
t.teardown(() => db.close())
const { prisma } = db
const revocations = createRevokedTokenRepository(prisma)
const users = createUserRepository(prisma)

const userId = randomUUID()
await prisma.user.create({ data: { id: userId, email: 'raw@example.com', passwordHash: '$2b$10$hash', sessionEpoch: 7 } })
// Milliseconds that a local-time or seconds-only round trip would lose.
const revokedAt = new Date('2026-03-29T01:30:00.123Z')
const expiresAt = new Date('2026-10-25T02:59:59.987Z')

t.test('a rotation row: the ORM reads back exactly what recordRotation wrote', async (t) => {
  const jti = randomUUID()
  const familyId = randomUUID()
  const successorJti = randomUUID()
  t.equal(await revocations.recordRotation({ jti, familyId, userId, successorJti, revokedAt, expiresAt }), true)
  const row = await prisma.revokedToken.findUnique({ where: { id: jti } })
  t.same(row, { id: jti, scope: 'token', userId, reason: 'rotated', successorJti, familyId, revokedAt, expiresAt })
  t.equal(row?.revokedAt.getTime(), revokedAt.getTime(), 'revoked_at to the millisecond, as UTC')
  t.equal(row?.expiresAt.getTime(), expiresAt.getTime(), 'expires_at to the millisecond, as UTC')
})

t.test('a duplicate insert returns false and leaves the first row as it was', async (t) => {
  const jti = randomUUID()
  const first = randomUUID()
  t.equal(await revocations.recordRotation({ jti, familyId: randomUUID(), userId, successorJti: first, revokedAt, expiresAt }), true)
  const later = new Date(revokedAt.getTime() + 1000)
  t.equal(await revocations.recordRotation({ jti, familyId: randomUUID(), userId, successorJti: randomUUID(), revokedAt: later, expiresAt }), false)
  t.same(await revocations.findRotation(jti), { successorJti: first, revokedAt })
})

t.test('refreshStateOf and findRotation read what the ORM wrote, Dates as UTC and scopes as strings', async (t) => {
  const fid = randomUUID()
  const jti = randomUUID()
  const successorJti = randomUUID()
  const stateOf = async (token: { jti: string; fid: string }) => (await revocations.refreshStateOf({ ...token, sub: userId })).state
  t.same(await stateOf({ jti, fid }), { familyRevoked: false, rotation: null }, 'no rows')
  t.equal(await revocations.findRotation(jti), null)

  await prisma.revokedToken.createMany({
    data: [{ id: jti, scope: 'token', userId, reason: 'rotated', successorJti, revokedAt, expiresAt }],
  })
  const state = await stateOf({ jti, fid })
  t.same(state, { familyRevoked: false, rotation: { successorJti, revokedAt } })
  t.ok(state.rotation?.revokedAt instanceof Date, 'a Date, not a string')
  t.equal(state.rotation?.revokedAt.getTime(), revokedAt.getTime())
  t.same(await revocations.findRotation(jti), { successorJti, revokedAt })

  await prisma.revokedToken.createMany({
    data: [{ id: fid, scope: 'family', userId, reason: 'logout', revokedAt, expiresAt }],
  })
  t.same(await stateOf({ jti, fid }), { familyRevoked: true, rotation: { successorJti, revokedAt } })
  t.same(await stateOf({ jti: randomUUID(), fid }), { familyRevoked: true, rotation: null })
})

t.test('revokeFamily writes a family row once and says so; again is a no-op that says it was not', async (t) => {
  const familyId = randomUUID()
  t.equal(await revocations.revokeFamily({ familyId, userId, reason: 'reuse_detected', revokedAt, expiresAt }), true)
  t.equal(await revocations.revokeFamily({ familyId, userId, reason: 'logout', revokedAt: new Date(), expiresAt }), false)
  t.same(await prisma.revokedToken.findUnique({ where: { id: familyId } }), {
    id: familyId,
    scope: 'family',
    userId,
    reason: 'reuse_detected',
    successorJti: null,
    familyId: null,
    revokedAt,
    expiresAt,
  })
  t.equal(await revocations.findRotation(familyId), null, 'a family row is no rotation')
})

t.test('the statements run on a transaction client too, and roll back with it', async (t) => {
  const jti = randomUUID()
  await t.rejects(
    db.transaction(async (tx) => {
      t.equal(await revocations.recordRotation({ jti, familyId: randomUUID(), userId, successorJti: randomUUID(), revokedAt, expiresAt }, tx), true)
      t.not(await revocations.findRotation(jti, tx), null, 'visible inside the transaction')
      throw new Error('roll back')
    }),
    /roll back/,
  )
  t.equal(await revocations.findRotation(jti), null, 'gone after the rollback')
})

t.test('refreshStateOf reads the user as findById does, and without one, the denylist alone', async (t) => {
  const fid = randomUUID()
  const jti = randomUUID()
  const read = await revocations.refreshStateOf({ jti, fid, sub: userId })
  t.same(read, { state: { familyRevoked: false, rotation: null }, user: await users.findById(userId) })
  t.equal(read.user?.sessionEpoch, 7)

  await revocations.revokeFamily({ familyId: fid, userId, reason: 'logout', revokedAt, expiresAt })
  const successorJti = randomUUID()
  await revocations.recordRotation({ jti, familyId: fid, userId, successorJti, revokedAt, expiresAt })
  const both = await revocations.refreshStateOf({ jti, fid, sub: userId })
  t.same(both.state, { familyRevoked: true, rotation: { successorJti, revokedAt } }, 'two denylist rows, one user')
  t.same(both.user, read.user)

  const gone = await revocations.refreshStateOf({ jti, fid, sub: randomUUID() })
  t.same(gone, { state: { familyRevoked: true, rotation: { successorJti, revokedAt } }, user: null }, 'no user')
  const nothing = await revocations.refreshStateOf({ jti: randomUUID(), fid: randomUUID(), sub: randomUUID() })
  t.same(nothing, { state: { familyRevoked: false, rotation: null }, user: null }, 'neither')
})

t.test('findById and findByEmail return exactly what the ORM returns', async (t) => {
  const select = { id: true, email: true, passwordHash: true, role: true, createdAt: true, sessionEpoch: true, emailVerifiedAt: true, disabledAt: true } as const
  const orm = await prisma.user.findUnique({ where: { id: userId }, select })
  const byId = await users.findById(userId)
  t.same(byId, orm)
  t.equal(typeof byId?.sessionEpoch, 'number', 'INT UNSIGNED as a number, not a bigint')
  t.equal(byId?.sessionEpoch, 7)
  t.equal(byId?.createdAt.getTime(), orm?.createdAt.getTime())
  t.same(await users.findByEmail('raw@example.com'), orm)
  t.equal(await users.findById(randomUUID()), null)
  t.equal(await users.findByEmail('nobody@example.com'), null)

  const admin = randomUUID()
  await prisma.user.create({ data: { id: admin, email: 'admin-raw@example.com', passwordHash: 'x', role: 'admin' } })
  t.equal((await users.findById(admin))?.role, 'admin', 'the ENUM as its string')
})

t.test('isUniqueViolation and isWriteConflict recognise the raw-statement errors', async (t) => {
  const id = randomUUID()
  const insert = () =>
    prisma.$executeRaw`INSERT INTO revoked_tokens (id, scope, user_id, reason, revoked_at, expires_at)
      VALUES (${id}, 'family', ${userId}, 'logout', ${revokedAt}, ${expiresAt})`
  await insert()
  const error: unknown = await insert().then(
    () => undefined,
    (caught: unknown) => caught,
  )
  // What Prisma 7 throws for a failed raw statement: P2010, the MySQL number in the adapter's error.
  t.ok(error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2010', 'P2010 from $executeRaw')
  t.equal(isUniqueViolation(error), true, 'a duplicate key from $executeRaw')
  t.equal(isWriteConflict(error), false)

  // The same shape with MySQL 1213 (a deadlock, or a Galera certification failure) is a write conflict.
  const conflict = new Prisma.PrismaClientKnownRequestError('Raw query failed', {
    code: 'P2010',
    clientVersion: Prisma.prismaVersion.client,
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: '1213', kind: 'TransactionWriteConflict' } } },
  })
  t.equal(isWriteConflict(conflict), true)
  t.equal(isUniqueViolation(conflict), false)
  t.equal(isUniqueViolation({ errno: 1062 }), true, 'a driver error that reached us unwrapped')
})
