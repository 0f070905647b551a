import type { Db, DbClient } from '../db/prisma.js'
import { Prisma } from '../generated/prisma/client.js'

/** What the security event log records; the admin_* types carry the acting admin (or "cli") in details. */
export const AUTH_EVENT_TYPES = [
  'login_succeeded',
  'login_failed',
  'login_throttled',
  'session_revoked',
  'logout_all',
  'refresh_reuse_detected',
  'password_changed',
  'password_reset_requested',
  'password_reset',
  'email_verified',
  'email_change_requested',
  'email_changed',
  'account_deleted',
  'admin_user_created',
  'admin_user_updated',
  'admin_sessions_revoked',
  'admin_user_deleted',
] as const

export type AuthEventType = (typeof AUTH_EVENT_TYPES)[number]

export type EventDetails = Record<string, string | number | boolean | null>

export interface NewAuthEvent {
  type: AuthEventType
  /** Null for a failed login of an unknown address (then nothing of the address is kept) and a deleted account. */
  userId: string | null
  sessionId?: string | null
  ip?: string | null
  device?: string | null
  at: Date
  details?: EventDetails
}

export interface AuthEvent {
  id: bigint
  type: AuthEventType
  at: Date
  ip: string | null
  device: string | null
  sessionId: string | null
  details: EventDetails
}

/** An event as the admin API lists it: whose it is, too. */
export interface AccountEvent extends AuthEvent {
  userId: string | null
}

export interface EventFilter {
  userId?: string
  type?: AuthEventType
}

// The adapter parses a JSON column when it knows the type; MariaDB may report it as plain LONGTEXT instead.
type EventRow = Omit<AuthEvent, 'details'> & { details: EventDetails | string | null }

const detailsOf = (value: EventRow['details']): EventDetails =>
  value === null ? {} : typeof value === 'string' ? (JSON.parse(value) as EventDetails) : value

const eventOf = (row: EventRow): AuthEvent => ({ ...row, details: detailsOf(row.details) })

/**
 * The `auth_events` table: append-only, one row per security-relevant change or attempt. Writes go into
 * the transaction of the change they record (raw INSERTs: a login pays for one, and the ORM's would cost
 * more of our CPU than the database's work). Read newest first by id: ids only grow, so a page boundary
 * never moves under concurrent inserts.
 */
export function createAuthEventRepository(prisma: Db) {
  return {
    async record(event: NewAuthEvent, tx: DbClient = prisma): Promise<void> {
      const details = event.details && Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : null
      await tx.$executeRaw`INSERT INTO auth_events (user_id, type, session_id, ip, device, created_at, details)
        VALUES (${event.userId}, ${event.type}, ${event.sessionId ?? null}, ${event.ip ?? null}, ${event.device ?? null}, ${event.at}, ${details})`
    },

    /** Up to `limit` events of the user older than the event `beforeId` (or the newest), newest first. */
    async listForUser(userId: string, page: { beforeId?: bigint; limit: number }, tx: DbClient = prisma): Promise<AuthEvent[]> {
      const rows = page.beforeId
        ? await tx.$queryRaw<EventRow[]>`SELECT id, type, created_at AS at, ip, device, session_id AS sessionId, details
            FROM auth_events WHERE user_id = ${userId} AND id < ${page.beforeId} ORDER BY id DESC LIMIT ${page.limit}`
        : await tx.$queryRaw<EventRow[]>`SELECT id, type, created_at AS at, ip, device, session_id AS sessionId, details
            FROM auth_events WHERE user_id = ${userId} ORDER BY id DESC LIMIT ${page.limit}`
      return rows.map(eventOf)
    },

    /** Events of every user, newest first, narrowed by user and type (each has an index led by it). */
    async listAll(filter: EventFilter, page: { beforeId?: bigint; limit: number }, tx: DbClient = prisma): Promise<AccountEvent[]> {
      const conditions = [
        filter.userId === undefined ? Prisma.empty : Prisma.sql`AND user_id = ${filter.userId}`,
        filter.type === undefined ? Prisma.empty : Prisma.sql`AND type = ${filter.type}`,
        page.beforeId === undefined ? Prisma.empty : Prisma.sql`AND id < ${page.beforeId}`,
      ]
      const rows = await tx.$queryRaw<(EventRow & { userId: string | null })[]>`
        SELECT id, user_id AS userId, type, created_at AS at, ip, device, session_id AS sessionId, details
        FROM auth_events WHERE 1 = 1 ${Prisma.join(conditions, ' ')} ORDER BY id DESC LIMIT ${page.limit}`
      return rows.map((row) => ({ ...eventOf(row), userId: row.userId }))
    },

    /** Deletes up to `limit` events older than `before` (retention). */
    deleteOlderBatch(before: Date, limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM auth_events WHERE created_at < ${before} ORDER BY created_at LIMIT ${limit}`
    },
  }
}

export type AuthEventRepository = ReturnType<typeof createAuthEventRepository>
