import type { Db, DbClient } from '../db/prisma.js'
import { Prisma } from '../generated/prisma/client.js'
import type { Role } from '../tokens/claims.js'

/** A user as an operator sees them; never the password hash. */
export interface DirectoryUser {
  id: string
  email: string
  role: Role
  emailVerifiedAt: Date | null
  disabledAt: Date | null
  disabledReason: string | null
  createdAt: Date
  lastLoginAt: Date | null
}

export interface DirectoryChange {
  role?: Role
  /** A date disables (and ends every session: the epoch moves on), null enables. */
  disabledAt?: Date | null
  disabledReason?: string | null
}

// The last login is the user's newest login_succeeded event: login writes nothing to the user's row, which
// on Galera would conflict at certification with the same user's refreshes on other nodes (their denylist
// inserts reference the row).
const columns = Prisma.sql`id, email, role, email_verified_at AS emailVerifiedAt, disabled_at AS disabledAt,
  disabled_reason AS disabledReason, created_at AS createdAt,
  (SELECT e.created_at FROM auth_events e WHERE e.user_id = users.id AND e.type = 'login_succeeded' ORDER BY e.id DESC LIMIT 1) AS lastLoginAt`

/** LIKE's wildcards and escape taken literally: a search for "a_b" matches only "a_b". */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (char) => `\\${char}`)}%`

/** The admin API's view of the `users` table: search, read, and the changes only admins make. */
export function createUserDirectoryRepository(prisma: Db) {
  return {
    /** Users whose email starts with `prefix`, in email order after `afterEmail`: the unique email index serves both. */
    search(filter: { prefix?: string; afterEmail?: string; limit: number }, tx: DbClient = prisma): Promise<DirectoryUser[]> {
      const prefix = filter.prefix ? Prisma.sql`AND email LIKE ${likePrefix(filter.prefix)}` : Prisma.empty
      const after = filter.afterEmail === undefined ? Prisma.empty : Prisma.sql`AND email > ${filter.afterEmail}`
      return tx.$queryRaw<DirectoryUser[]>`SELECT ${columns} FROM users WHERE 1 = 1 ${prefix} ${after} ORDER BY email LIMIT ${filter.limit}`
    },

    async findById(id: string, tx: DbClient = prisma): Promise<DirectoryUser | null> {
      const [row] = await tx.$queryRaw<DirectoryUser[]>`SELECT ${columns} FROM users WHERE id = ${id}`
      return row ?? null
    },

    /**
     * Write-locks every enabled admin and returns their ids: a change that could remove an admin takes
     * this first, so two of them take turns and the second sees the first's outcome. An UPDATE, not a
     * SELECT ... FOR UPDATE: on Galera, locks are local to a node, but two transactions that wrote the
     * same rows cannot both certify, so one of two demotions on two nodes fails instead of both winning.
     */
    async lockEnabledAdmins(tx: DbClient): Promise<string[]> {
      await tx.$executeRaw`UPDATE users SET updated_at = ${new Date()} WHERE role = 'admin' AND disabled_at IS NULL`
      const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL`
      return rows.map((row) => row.id)
    },

    /** Applies an admin's change; disabling also ends every login (the epoch moves on) in the same statement. */
    async update(id: string, change: DirectoryChange, tx: DbClient): Promise<void> {
      const sets = [Prisma.sql`updated_at = ${new Date()}`]
      if (change.role !== undefined) sets.push(Prisma.sql`role = ${change.role}`)
      if (change.disabledAt !== undefined) {
        sets.push(Prisma.sql`disabled_at = ${change.disabledAt}`, Prisma.sql`disabled_reason = ${change.disabledReason ?? null}`)
        if (change.disabledAt !== null) sets.push(Prisma.sql`session_epoch = session_epoch + 1`)
      } else if (change.disabledReason !== undefined) {
        sets.push(Prisma.sql`disabled_reason = ${change.disabledReason}`)
      }
      await tx.$executeRaw`UPDATE users SET ${Prisma.join(sets, ', ')} WHERE id = ${id}`
    },
  }
}

export type UserDirectoryRepository = ReturnType<typeof createUserDirectoryRepository>
