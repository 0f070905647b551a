import type { Db, DbClient } from '../db/prisma.js'
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

/** The `account_links` table: one-time links, stored by the SHA-256 of their token. */
export function createAccountLinkRepository(prisma: Db) {
  return {
    /** Stores a new link and supersedes every unused older link of the same user and purpose. */
    async issue(link: NewLink, tx: DbClient): Promise<void> {
      const { tokenHash, purpose, userId, newEmail = null, createdAt, expiresAt } = link
      await tx.$executeRaw`UPDATE account_links SET used_at = ${createdAt}
        WHERE user_id = ${userId} AND purpose = ${purpose} AND used_at IS NULL`
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

    /** Uses up every outstanding link of the user (a password reset: no older link may work after it). */
    async invalidateAll(userId: string, now: Date, tx: DbClient): Promise<void> {
      await tx.$executeRaw`UPDATE account_links SET used_at = ${now} WHERE user_id = ${userId} AND used_at IS NULL`
    },

    /** Deletes up to `limit` links that expired before `before`, used or not (the prune job). */
    deleteExpiredBatch(before: Date, limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM account_links WHERE expires_at < ${before} ORDER BY expires_at LIMIT ${limit}`
    },
  }
}

export type AccountLinkRepository = ReturnType<typeof createAccountLinkRepository>
