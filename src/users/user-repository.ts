import type { User } from '../generated/prisma/client.js'
import type { Db, DbClient } from '../db/prisma.js'
import { isUniqueViolation } from '../db/prisma-errors.js'
import type { Role } from '../tokens/claims.js'

export interface NewUser {
  id: string
  email: string
  passwordHash: string
  role?: Role
}

export type UserRecord = Pick<User, 'id' | 'email' | 'passwordHash' | 'role' | 'createdAt' | 'sessionEpoch'>

const columns = { id: true, email: true, passwordHash: true, role: true, createdAt: true, sessionEpoch: true } as const

/** A UserRecord as `$queryRaw` returns it: an INT UNSIGNED column arrives as a bigint. */
type UserRow = Omit<UserRecord, 'sessionEpoch'> & { sessionEpoch: bigint | number }

const toRecord = (row: UserRow | undefined): UserRecord | null =>
  row ? { ...row, sessionEpoch: Number(row.sessionEpoch) } : null

/** The `users` table. Every function takes an optional transaction client, so a service can span several writes. */
export function createUserRepository(prisma: Db) {
  return {
    // The two reads of login and refresh are raw SQL through Prisma: the ORM's findUnique cost ~0.13 ms of
    // CPU each, several times what the database spent (bench/README.md). Same columns as `columns`.
    async findByEmail(email: string, tx: DbClient = prisma): Promise<UserRecord | null> {
      const [row] = await tx.$queryRaw<UserRow[]>`
        SELECT id, email, password_hash AS passwordHash, role, created_at AS createdAt, session_epoch AS sessionEpoch
        FROM users WHERE email = ${email}`
      return toRecord(row)
    },

    async findById(id: string, tx: DbClient = prisma): Promise<UserRecord | null> {
      const [row] = await tx.$queryRaw<UserRow[]>`
        SELECT id, email, password_hash AS passwordHash, role, created_at AS createdAt, session_epoch AS sessionEpoch
        FROM users WHERE id = ${id}`
      return toRecord(row)
    },

    /** Inserts the user, or returns null when the email is already registered. */
    async create(user: NewUser, tx: DbClient = prisma): Promise<UserRecord | null> {
      try {
        return await tx.user.create({ data: user, select: columns })
      } catch (error) {
        if (isUniqueViolation(error)) return null
        throw error
      }
    },

    /**
     * Sets a new password and ends every login of the user, in one statement: there is no moment at
     * which the new password is in force while an old login still refreshes.
     */
    async replacePassword(id: string, passwordHash: string, tx: DbClient = prisma): Promise<void> {
      await tx.user.update({ where: { id }, data: { passwordHash, sessionEpoch: { increment: 1 } }, select: { id: true } })
    },

    /**
     * Re-hashes the same password at today's cost, only if the stored hash is still the one that was
     * checked: a password changed meanwhile is never overwritten with the old one.
     */
    async upgradePasswordHash(id: string, from: string, to: string, tx: DbClient = prisma): Promise<void> {
      await tx.user.updateMany({ where: { id, passwordHash: from }, data: { passwordHash: to } })
    },

    /** Ends every login of the user: refresh tokens minted under an older epoch are refused from now on. */
    async bumpSessionEpoch(id: string, tx: DbClient = prisma): Promise<void> {
      await tx.user.updateMany({ where: { id }, data: { sessionEpoch: { increment: 1 } } })
    },
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>
