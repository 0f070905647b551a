import type { Db, DbClient } from '../db/prisma.js'
import { Prisma } from '../generated/prisma/client.js'

export interface NewSession {
  /** The family id (fid) of the login. */
  id: string
  userId: string
  epoch: number
  rememberMe: boolean
  ip: string
  userAgent: string | null
  device: string
  createdAt: Date
  expiresAt: Date
}

export interface LiveSession {
  id: string
  device: string
  userAgent: string | null
  ip: string
  createdAt: Date
  /** The newest rotation of the family, or the login itself. */
  lastUsedAt: Date
  expiresAt: Date
  rememberMe: boolean
}

type LiveSessionRow = Omit<LiveSession, 'rememberMe'> & { userId: string; rememberMe: number | boolean }

/** When a session counts as live: what refresh would accept from its newest token at `now`. */
export interface Liveness {
  now: Date
  /** Sessions last used before this have timed out (REFRESH_IDLE_TIMEOUT_SECONDS). */
  idleSince: Date
}

/** Liveness at `nowMs` for an idle timeout: what refresh would accept then. */
export const livenessAt = (nowMs: number, idleTimeoutSeconds: number): Liveness => ({
  now: new Date(nowMs),
  idleSince: new Date(nowMs - idleTimeoutSeconds * 1000),
})

const sessionOf = ({ userId: _userId, ...row }: LiveSessionRow): LiveSession => ({ ...row, rememberMe: Boolean(row.rememberMe) })

/**
 * The `sessions` table: one row per login, written with it. Liveness is derived, never stored: a session
 * is live while its family has no denylist row, its epoch is still the user's, it has not expired and it
 * was used within the idle timeout; the very checks refresh makes. Last used is the newest rotation row of
 * the family (revoked_tokens.family_id, indexed with revoked_at), so refresh writes nothing extra.
 */
export function createSessionRepository(prisma: Db) {
  /** The live sessions of these users (each row with its userId), unordered: the one definition of "live". */
  const liveSessions = (userIds: string[], { now, idleSince }: Liveness, id?: string) => Prisma.sql`
    SELECT * FROM (
      SELECT s.id, s.user_id AS userId, s.device, s.user_agent AS userAgent, s.ip, s.created_at AS createdAt,
        s.expires_at AS expiresAt, s.remember_me AS rememberMe,
        COALESCE((SELECT MAX(r.revoked_at) FROM revoked_tokens r WHERE r.family_id = s.id), s.created_at) AS lastUsedAt
      FROM sessions s JOIN users u ON u.id = s.user_id AND u.session_epoch = s.session_epoch
      WHERE s.user_id IN (${Prisma.join(userIds)}) AND s.expires_at > ${now} ${id === undefined ? Prisma.empty : Prisma.sql`AND s.id = ${id}`}
        AND NOT EXISTS (SELECT 1 FROM revoked_tokens f WHERE f.id = s.id)
    ) AS candidate
    WHERE lastUsedAt > ${idleSince}`

  function live(userId: string, liveness: Liveness, tx: DbClient, id?: string): Promise<LiveSessionRow[]> {
    return tx.$queryRaw<LiveSessionRow[]>`${liveSessions([userId], liveness, id)} ORDER BY lastUsedAt DESC, id DESC`
  }

  return {
    async create(session: NewSession, tx: DbClient = prisma): Promise<void> {
      const { id, userId, epoch, rememberMe, ip, userAgent, device, createdAt, expiresAt } = session
      await tx.$executeRaw`INSERT INTO sessions (id, user_id, session_epoch, remember_me, ip, user_agent, device, created_at, expires_at)
        VALUES (${id}, ${userId}, ${epoch}, ${rememberMe}, ${ip}, ${userAgent}, ${device}, ${createdAt}, ${expiresAt})`
    },

    /** The user's live sessions, most recently used first. */
    async listLive(userId: string, liveness: Liveness, tx: DbClient = prisma): Promise<LiveSession[]> {
      return (await live(userId, liveness, tx)).map(sessionOf)
    },

    /** How many live sessions each of these users has; users with none are absent. */
    async countLive(userIds: string[], liveness: Liveness, tx: DbClient = prisma): Promise<Map<string, number>> {
      if (userIds.length === 0) return new Map()
      const rows = await tx.$queryRaw<{ userId: string; count: bigint | number }[]>`
        SELECT userId, COUNT(*) AS count FROM (${liveSessions(userIds, liveness)}) AS live GROUP BY userId`
      return new Map(rows.map((row) => [row.userId, Number(row.count)]))
    },

    /** One live session of the user, or null: another user's session id is as unknown as a made-up one. */
    async findLive(userId: string, id: string, liveness: Liveness, tx: DbClient = prisma): Promise<LiveSession | null> {
      const [row] = await live(userId, liveness, tx, id)
      return row ? sessionOf(row) : null
    },

    /** The device label of a session, live or not; null when there is no such session (a login before sessions). */
    async deviceOf(id: string, tx: DbClient = prisma): Promise<string | null> {
      const [row] = await tx.$queryRaw<{ device: string }[]>`SELECT device FROM sessions WHERE id = ${id}`
      return row?.device ?? null
    },

    /** Whether the user has signed in from a client with this device label before (any session still kept). */
    async hasDevice(userId: string, device: string, tx: DbClient = prisma): Promise<boolean> {
      const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM sessions WHERE user_id = ${userId} AND device = ${device} LIMIT 1`
      return rows.length > 0
    },

    /** Deletes up to `limit` sessions that expired before `before`. */
    deleteExpiredBatch(before: Date, limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM sessions WHERE expires_at < ${before} ORDER BY expires_at LIMIT ${limit}`
    },

    /**
     * Deletes up to `limit` sessions ended before their expiry: by a family row (logout, reuse, a session
     * ended from the list) or by an epoch the user has moved past (logout-all, password change or reset).
     */
    deleteEndedBatch(limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM sessions WHERE id IN (SELECT id FROM (
          SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.session_epoch < u.session_epoch OR EXISTS (SELECT 1 FROM revoked_tokens f WHERE f.id = s.id)
          LIMIT ${limit}) AS ended)`
    },
  }
}

export type SessionRepository = ReturnType<typeof createSessionRepository>
