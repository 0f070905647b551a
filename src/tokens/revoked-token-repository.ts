import type { Prisma } from '../generated/prisma/client.js'
import type { Db } from '../db/prisma.js'
import type { RevocationReason, RevocationScope } from '../generated/prisma/enums.js'
import { isUniqueViolation, isWriteConflict } from '../db/prisma-errors.js'

export interface Rotation {
  successorJti: string
  revokedAt: Date
}

export interface RevocationState {
  /** The token's family, or every family of its user, has been revoked. */
  familyRevoked: boolean
  /** Set when this very token was already rotated. */
  rotation: Rotation | null
}

export interface RotationRecord {
  jti: string
  userId: string
  successorJti: string
  revokedAt: Date
  expiresAt: Date
}

export interface FamilyRevocation {
  familyId: string
  userId: string
  reason: RevocationReason
  revokedAt: Date
  expiresAt: Date
}

type RotationRow = { scope: RevocationScope; successorJti: string | null; revokedAt: Date }

/** A row that records a rotation: one token's own row, with the successor it was exchanged for. */
const rotationOf = (row: RotationRow): Rotation | null =>
  row.scope === 'token' && row.successorJti ? { successorJti: row.successorJti, revokedAt: row.revokedAt } : null

/**
 * The refresh-token denylist (`revoked_tokens`): one token, or one family (a login). The only module that
 * reads or writes it. Every login of a user at once is the user's session epoch, not a row here.
 */
export function createRevokedTokenRepository(prisma: Db) {
  /**
   * Inserts a row keyed on its primary key; false when a row with that id is already there. createMany,
   * not create: on MySQL, create wraps INSERT and a read-back SELECT in a transaction (four round trips).
   */
  async function insertOnce(data: Prisma.RevokedTokenCreateManyInput): Promise<boolean> {
    try {
      await prisma.revokedToken.createMany({ data: [data] })
      return true
    } catch (error) {
      if (isUniqueViolation(error)) return false
      // Galera: the same key inserted on another node first fails ours with a write conflict, not a
      // duplicate. A conflict can also be on another key, so only a row now there means we lost the race.
      if (isWriteConflict(error)) {
        const row = await prisma.revokedToken.findUnique({ where: { id: data.id }, select: { id: true } })
        if (row) return false
      }
      throw error
    }
  }

  return {
    /** One primary-key read: the token's own row and its family's row. */
    async stateOf(token: { jti: string; fid: string }): Promise<RevocationState> {
      const rows = await prisma.revokedToken.findMany({
        where: { id: { in: [token.jti, token.fid] } },
        select: { id: true, scope: true, successorJti: true, revokedAt: true },
      })
      let familyRevoked = false
      let rotation: Rotation | null = null
      for (const row of rows) {
        if (row.scope !== 'token') familyRevoked = true
        else if (row.id === token.jti) rotation = rotationOf(row)
      }
      return { familyRevoked, rotation }
    },

    /**
     * Records that `jti` was rotated, keyed on its primary key: of any number of concurrent rotations of
     * one token, exactly one insert succeeds. Returns false when another request got there first.
     */
    recordRotation(record: RotationRecord): Promise<boolean> {
      const { jti, successorJti, ...rest } = record
      return insertOnce({ id: jti, scope: 'token', reason: 'rotated', successorJti, ...rest })
    },

    async findRotation(jti: string): Promise<Rotation | null> {
      const row = await prisma.revokedToken.findUnique({
        where: { id: jti },
        select: { scope: true, successorJti: true, revokedAt: true },
      })
      return row ? rotationOf(row) : null
    },

    /** Revokes a whole family; revoking it again is a no-op. */
    async revokeFamily(revocation: FamilyRevocation): Promise<void> {
      const { familyId, ...rest } = revocation
      await insertOnce({ id: familyId, scope: 'family', ...rest })
    },

    /** Deletes up to `limit` rows that expired before `before`; small batches keep each lock short. */
    deleteExpiredBatch(before: Date, limit: number): Promise<number> {
      return prisma.$executeRaw`DELETE FROM revoked_tokens WHERE expires_at < ${before} ORDER BY expires_at LIMIT ${limit}`
    },
  }
}

export type RevokedTokenRepository = ReturnType<typeof createRevokedTokenRepository>
