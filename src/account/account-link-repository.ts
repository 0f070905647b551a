import type { Db, DbClient } from '../db/prisma.js'
import { Prisma } from '../generated/prisma/client.js'
import type { LinkPurpose } from '../generated/prisma/enums.js'

export interface NewLink {
  tokenHash: string
  purpose: LinkPurpose
  userId: string
  newEmail?: string | null
  createdAt: Date
  expiresAt: Date
}

export interface LinkRecord {
  purpose: LinkPurpose
  userId: string
  newEmail: string | null
  expiresAt: Date
  usedAt: Date | null
}

/**
 * Marks the user's unused links (of `purpose`, or all) used, by primary key. A range UPDATE on the
 * (user_id, purpose) index would take gap locks under REPEATABLE READ, and two registrations whose new
 * users sort into the same gap would deadlock on their inserts. The caller holds the user's row lock, so
 * no link of this user appears between the read and the update.
 */
async function useUpAll(tx: DbClient, userId: string, at: Date, purpose?: LinkPurpose): Promise<void> {
  const rows = await tx.$queryRaw<{ tokenHash: string }[]>`
    SELECT token_hash AS tokenHash FROM account_links WHERE user_id = ${userId} AND used_at IS NULL
    ${purpose ? Prisma.sql`AND purpose = ${purpose}` : Prisma.empty}`
  if (rows.length === 0) return
  await tx.$executeRaw`UPDATE account_links SET used_at = ${at}
    WHERE token_hash IN (${Prisma.join(rows.map((row) => row.tokenHash))}) AND used_at IS NULL`
}

/** The `account_links` table: one-time links, stored by the SHA-256 of their token. */
export function createAccountLinkRepository(prisma: Db) {
  return {
    /**
     * Stores a new link and supersedes every unused older link of the same user and purpose. Run while
     * holding the user's row lock (users.lockById), so concurrent issuers take turns.
     */
    async issue(link: NewLink, tx: DbClient): Promise<void> {
      const { tokenHash, purpose, userId, newEmail = null, createdAt, expiresAt } = link
      await useUpAll(tx, userId, createdAt, purpose)
      await tx.$executeRaw`INSERT INTO account_links (token_hash, purpose, user_id, new_email, created_at, expires_at)
        VALUES (${tokenHash}, ${purpose}, ${userId}, ${newEmail}, ${createdAt}, ${expiresAt})`
    },

    async find(tokenHash: string, tx: DbClient = prisma): Promise<LinkRecord | null> {
      const [row] = await tx.$queryRaw<LinkRecord[]>`
        SELECT purpose, user_id AS userId, new_email AS newEmail, expires_at AS expiresAt, used_at AS usedAt
        FROM account_links WHERE token_hash = ${tokenHash}`
      return row ?? null
    },

    /**
     * Uses the link up: one conditional UPDATE, the single commit point of "a link works once". Of any
     * number of concurrent consumers exactly one changes the row; false for everyone else, and for a
     * link that is unknown, of another purpose, used, superseded or expired.
     */
    async consume(tokenHash: string, purpose: LinkPurpose, now: Date, tx: DbClient): Promise<boolean> {
      const changed = await tx.$executeRaw`UPDATE account_links SET used_at = ${now}
        WHERE token_hash = ${tokenHash} AND purpose = ${purpose} AND used_at IS NULL AND expires_at > ${now}`
      return changed === 1
    },

    /**
     * Uses up every outstanding link of the user (a password reset: no older link may work after it).
     * Run while holding the user's row lock.
     */
    invalidateAll(userId: string, now: Date, tx: DbClient): Promise<void> {
      return useUpAll(tx, userId, now)
    },

    /** Deletes up to `limit` links that expired before `before`, used or not (the prune job). */
    deleteExpiredBatch(before: Date, limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM account_links WHERE expires_at < ${before} ORDER BY expires_at LIMIT ${limit}`
    },
  }
}

export type AccountLinkRepository = ReturnType<typeof createAccountLinkRepository>
