import { Prisma, type User } from '../generated/prisma/client.js'
import type { Db, DbClient } from '../db/prisma.js'
import { isUniqueViolation } from '../db/prisma-errors.js'
import type { Role } from '../tokens/claims.js'

export interface NewUser {
  id: string
  email: string
  passwordHash: string
  role?: Role
  /** Set when someone vouches for the address (an operator creating the user from the shell). */
  emailVerifiedAt?: Date
}

export type UserRecord = Pick<User, 'id' | 'email' | 'passwordHash' | 'role' | 'createdAt' | 'sessionEpoch' | 'emailVerifiedAt' | 'disabledAt'>

const columns = {
  id: true,
  email: true,
  passwordHash: true,
  role: true,
  createdAt: true,
  sessionEpoch: true,
  emailVerifiedAt: true,
  disabledAt: true,
} as const

/**
 * A UserRecord's columns for raw SQL, from the table alias `table`; the one list every raw read of a
 * user uses (this repository and the refresh read in the denylist repository).
 */
export const userColumnsOf = (table: string) =>
  Prisma.raw(
    [
      `${table}.id AS id`,
      `${table}.email AS email`,
      `${table}.password_hash AS passwordHash`,
      `${table}.role AS role`,
      `${table}.created_at AS createdAt`,
      `${table}.session_epoch AS sessionEpoch`,
      `${table}.email_verified_at AS emailVerifiedAt`,
      `${table}.disabled_at AS disabledAt`,
    ].join(', '),
  )

/** A UserRecord as `$queryRaw` returns it: an INT UNSIGNED column arrives as a bigint; null where a join found none. */
export type UserRow = { [K in keyof UserRecord]: K extends 'sessionEpoch' ? bigint | number | null : UserRecord[K] | null }

export function userRecordOf(row: UserRow | undefined): UserRecord | null {
  if (!row || row.id === null || row.email === null || row.passwordHash === null || row.role === null || row.createdAt === null) {
    return null
  }
  const { id, email, passwordHash, role, createdAt, emailVerifiedAt, disabledAt } = row
  return { id, email, passwordHash, role, createdAt, emailVerifiedAt, disabledAt, sessionEpoch: Number(row.sessionEpoch) }
}

/** The `users` table. Every function takes an optional transaction client, so a service can span several writes. */
export function createUserRepository(prisma: Db) {
  return {
    // The two reads of login and refresh are raw SQL through Prisma: the ORM's findUnique cost ~0.13 ms of
    // CPU each, several times what the database spent (bench/README.md).
    async findByEmail(email: string, tx: DbClient = prisma): Promise<UserRecord | null> {
      const [row] = await tx.$queryRaw<UserRow[]>`SELECT ${userColumnsOf('u')} FROM users u WHERE u.email = ${email}`
      return userRecordOf(row)
    },

    async findById(id: string, tx: DbClient = prisma): Promise<UserRecord | null> {
      const [row] = await tx.$queryRaw<UserRow[]>`SELECT ${userColumnsOf('u')} FROM users u WHERE u.id = ${id}`
      return userRecordOf(row)
    },

    /**
     * Reads the user and locks their row until the transaction ends: flows that issue or consume a
     * user's links take turns, so two of them never both see "no newer link" and both win.
     */
    async lockById(id: string, tx: DbClient): Promise<UserRecord | null> {
      const [row] = await tx.$queryRaw<UserRow[]>`SELECT ${userColumnsOf('u')} FROM users u WHERE u.id = ${id} FOR UPDATE`
      return userRecordOf(row)
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
     * which the new password is in force while an old login still refreshes. `verifiedAt` also marks the
     * address verified (a reset link proves the user reads mail there).
     */
    async replacePassword(id: string, passwordHash: string, tx: DbClient = prisma, verifiedAt?: Date): Promise<void> {
      await tx.$executeRaw`UPDATE users SET password_hash = ${passwordHash}, session_epoch = session_epoch + 1,
        email_verified_at = COALESCE(email_verified_at, ${verifiedAt ?? null}), updated_at = ${new Date()} WHERE id = ${id}`
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

    /** Marks the address verified, keeping the first time it was. */
    async markEmailVerified(id: string, at: Date, tx: DbClient = prisma): Promise<void> {
      await tx.user.updateMany({ where: { id, emailVerifiedAt: null }, data: { emailVerifiedAt: at } })
    },

    /** Moves the account to a confirmed address; false when another account holds it by now. */
    async changeEmail(id: string, email: string, verifiedAt: Date, tx: DbClient = prisma): Promise<boolean> {
      try {
        await tx.user.update({ where: { id }, data: { email, emailVerifiedAt: verifiedAt }, select: { id: true } })
        return true
      } catch (error) {
        if (isUniqueViolation(error)) return false
        throw error
      }
    },

    /** Deletes the user; their denylist rows, links and queued mail go with them (ON DELETE CASCADE). */
    async delete(id: string, tx: DbClient = prisma): Promise<void> {
      await tx.user.deleteMany({ where: { id } })
    },
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>
