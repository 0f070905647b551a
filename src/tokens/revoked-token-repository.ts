import type { Db, DbClient } from '../db/prisma.js'
import type { RevocationReason, RevocationScope } from '../generated/prisma/enums.js'
import { isUniqueViolation, isWriteConflict } from '../db/prisma-errors.js'
import { userColumnsOf, userRecordOf, type UserRecord, type UserRow } from '../users/user-repository.js'

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

/** What a refresh reads before it rotates: the denylist rows of the token, and its user. */
export interface RefreshState {
  state: RevocationState
  user: UserRecord | null
}

export interface RotationRecord {
  jti: string
  /** The token's family: its newest rotation is when the session was last used. */
  familyId: string
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

/** One row of the refresh read: the user's columns (null if gone) beside one denylist row (or none). */
type RefreshStateRow = UserRow & {
  revokedId: string | null
  scope: RevocationScope | null
  successorJti: string | null
  revokedAt: Date | null
}

const stateFrom = (rows: (RotationRow & { id: string })[], jti: string): RevocationState => {
  let familyRevoked = false
  let rotation: Rotation | null = null
  for (const row of rows) {
    if (row.scope !== 'token') familyRevoked = true
    else if (row.id === jti) rotation = rotationOf(row)
  }
  return { familyRevoked, rotation }
}

/** Every column of a row, as the raw statements write it (the column names are checked by test/db). */
interface DenylistRow {
  id: string
  scope: RevocationScope
  userId: string
  reason: RevocationReason
  successorJti: string | null
  familyId: string | null
  revokedAt: Date
  expiresAt: Date
}

/**
 * The refresh-token denylist (`revoked_tokens`): one token, or one family (a login). The only module that
 * reads or writes it. Every login of a user at once is the user's session epoch, not a row here.
 *
 * The statements on the refresh path are raw SQL through Prisma (`$queryRaw`/`$executeRaw`: tagged
 * templates, bound parameters, the same client, deadline and pool): the ORM's query building cost ~0.8 ms
 * of our CPU per `createMany` and ~0.13 ms per `findUnique`, more than the database spent on them (see
 * bench/README.md, "Refresh and the commit floor"). The adapter reads DATETIME as UTC into a Date and
 * writes a Date as UTC, exactly as the ORM does; ENUM columns come back as their strings.
 */
export function createRevokedTokenRepository(prisma: Db) {
  /** Inserts a row keyed on its primary key; false when a row with that id is already there. */
  async function insertOnce(row: DenylistRow, tx: DbClient): Promise<boolean> {
    try {
      await tx.$executeRaw`INSERT INTO revoked_tokens (id, scope, user_id, reason, successor_jti, family_id, revoked_at, expires_at)
        VALUES (${row.id}, ${row.scope}, ${row.userId}, ${row.reason}, ${row.successorJti}, ${row.familyId}, ${row.revokedAt}, ${row.expiresAt})`
      return true
    } catch (error) {
      if (isUniqueViolation(error)) return false
      // Galera: the same key inserted on another node first fails ours with a write conflict, not a
      // duplicate. A conflict can also be on another key, so only a row now there means we lost the race.
      if (isWriteConflict(error)) {
        const found = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM revoked_tokens WHERE id = ${row.id}`
        if (found.length > 0) return false
      }
      throw error
    }
  }

  return {
    /**
     * Primary-key reads of the token's own row, its family's row and its user (users.findById's columns),
     * in one statement: one round trip and one consistent snapshot. Under refresh load each statement
     * costs our CPU more than the database, and a refresh needs all three. The one-row probe keeps a row
     * when neither the user nor a denylist row exists.
     */
    async refreshStateOf(token: { jti: string; fid: string; sub: string }, tx: DbClient = prisma): Promise<RefreshState> {
      const rows = await tx.$queryRaw<RefreshStateRow[]>`
        SELECT ${userColumnsOf('u')},
          r.id AS revokedId, r.scope, r.successor_jti AS successorJti, r.revoked_at AS revokedAt
        FROM (SELECT 1 AS probe) AS one
        LEFT JOIN users u ON u.id = ${token.sub}
        LEFT JOIN revoked_tokens r ON r.id IN (${token.jti}, ${token.fid})`
      const user = userRecordOf(rows[0])
      const denylisted = rows.flatMap((row) =>
        row.revokedId !== null && row.scope !== null && row.revokedAt !== null
          ? [{ id: row.revokedId, scope: row.scope, successorJti: row.successorJti, revokedAt: row.revokedAt }]
          : [],
      )
      return { state: stateFrom(denylisted, token.jti), user }
    },

    /**
     * Records that `jti` was rotated, keyed on its primary key: of any number of concurrent rotations of
     * one token, exactly one insert succeeds. Returns false when another request got there first.
     */
    recordRotation(record: RotationRecord, tx: DbClient = prisma): Promise<boolean> {
      const { jti, ...rest } = record
      return insertOnce({ id: jti, scope: 'token', reason: 'rotated', ...rest }, tx)
    },

    async findRotation(jti: string, tx: DbClient = prisma): Promise<Rotation | null> {
      const [row] = await tx.$queryRaw<RotationRow[]>`
        SELECT scope, successor_jti AS successorJti, revoked_at AS revokedAt FROM revoked_tokens WHERE id = ${jti}`
      return row ? rotationOf(row) : null
    },

    /**
     * Revokes a whole family; revoking it again is a no-op. True for the one call whose row went in: of
     * concurrent revocations of one family, only that one records the event or sends the notice.
     */
    revokeFamily(revocation: FamilyRevocation, tx: DbClient = prisma): Promise<boolean> {
      const { familyId, ...rest } = revocation
      return insertOnce({ id: familyId, scope: 'family', successorJti: null, familyId: null, ...rest }, tx)
    },

    /** Deletes up to `limit` rows that expired before `before`; small batches keep each lock short. */
    deleteExpiredBatch(before: Date, limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM revoked_tokens WHERE expires_at < ${before} ORDER BY expires_at LIMIT ${limit}`
    },
  }
}

export type RevokedTokenRepository = ReturnType<typeof createRevokedTokenRepository>
