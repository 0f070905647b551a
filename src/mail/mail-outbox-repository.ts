import type { Db, DbClient } from '../db/prisma.js'
import { Prisma } from '../generated/prisma/client.js'

/** A mail to queue: rendered when it is queued, so delivery needs nothing but the row. */
export interface OutgoingMail {
  /** The account the mail is about; deleting the account deletes its queued mail. */
  userId: string | null
  kind: string
  recipient: string
  subject: string
  text: string
}

/** A row a worker has claimed and now owns until its lease ends. */
export interface ClaimedMail {
  id: bigint
  kind: string
  recipient: string
  subject: string
  text: string
  /** Attempts so far, this one included. */
  attempts: number
  createdAt: Date
}

type ClaimedRow = Omit<ClaimedMail, 'attempts' | 'text'> & { attempts: bigint | number; text: string | null }

/**
 * The `mail_outbox` table. A mail is queued in the transaction of what it announces; a worker claims due
 * rows with FOR UPDATE SKIP LOCKED and a lease (next_attempt_at moved past the send), so concurrent workers,
 * in any number of processes, never take the same row. Each outcome clears the body when it is final: a
 * database dump holds no usable link.
 */
export function createMailOutboxRepository(prisma: Db) {
  return {
    /** Queues `mail`, due at once: `at` is the service clock's now, the time the worker compares against. */
    async enqueue(mail: OutgoingMail, at: Date, tx: DbClient = prisma): Promise<void> {
      const { userId, kind, recipient, subject, text } = mail
      await tx.$executeRaw`INSERT INTO mail_outbox (user_id, kind, recipient, subject, text_body, next_attempt_at, created_at)
        VALUES (${userId}, ${kind}, ${recipient}, ${subject}, ${text}, ${at}, ${at})`
    },

    /**
     * Claims up to `limit` rows due at `now` and leases them until `leaseUntil`: a worker that dies
     * mid-send leaves them to be retried once the lease ends. Run inside a READ COMMITTED transaction: the
     * row locks are what make concurrent claims skip each other, and at that level the scan takes no gap
     * locks, so a registration queueing its mail never waits for (or deadlocks with) a claim.
     */
    async claimDue(now: Date, leaseUntil: Date, limit: number, tx: DbClient): Promise<ClaimedMail[]> {
      const rows = await tx.$queryRaw<ClaimedRow[]>`
        SELECT id, kind, recipient, subject, text_body AS text, attempts, created_at AS createdAt FROM mail_outbox
        WHERE status = 'pending' AND next_attempt_at <= ${now}
        ORDER BY next_attempt_at, id LIMIT ${limit}
        FOR UPDATE SKIP LOCKED`
      if (rows.length === 0) return []
      const ids = rows.map((row) => row.id)
      await tx.$executeRaw`UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ${leaseUntil}
        WHERE id IN (${Prisma.join(ids)})`
      return rows.map((row) => ({ ...row, text: row.text ?? '', attempts: Number(row.attempts) + 1 }))
    },

    /**
     * Records the outcome of attempt number `attempt`. Only the holder of that attempt's claim can: a
     * worker whose lease ran out and whose row another worker claimed since changes nothing.
     */
    async markSent(id: bigint, attempt: number, at: Date, tx: DbClient = prisma): Promise<void> {
      await tx.$executeRaw`UPDATE mail_outbox SET status = 'sent', text_body = NULL, last_error = NULL, finished_at = ${at}
        WHERE id = ${id} AND status = 'pending' AND attempts = ${attempt}`
    },

    async scheduleRetry(id: bigint, attempt: number, at: Date, error: string, tx: DbClient = prisma): Promise<void> {
      await tx.$executeRaw`UPDATE mail_outbox SET next_attempt_at = ${at}, last_error = ${error.slice(0, 1000)}
        WHERE id = ${id} AND status = 'pending' AND attempts = ${attempt}`
    },

    async markFailed(id: bigint, attempt: number, at: Date, error: string, tx: DbClient = prisma): Promise<void> {
      await tx.$executeRaw`UPDATE mail_outbox SET status = 'failed', text_body = NULL, last_error = ${error.slice(0, 1000)},
        finished_at = ${at} WHERE id = ${id} AND status = 'pending' AND attempts = ${attempt}`
    },

    /** How many mails still wait to be sent, and when the earliest of them is due. */
    async pending(tx: DbClient = prisma): Promise<{ count: number; nextAttemptAt: Date | null }> {
      const [row] = await tx.$queryRaw<{ count: bigint; nextAttemptAt: Date | null }[]>`
        SELECT COUNT(*) AS count, MIN(next_attempt_at) AS nextAttemptAt FROM mail_outbox WHERE status = 'pending'`
      return { count: Number(row?.count ?? 0), nextAttemptAt: row?.nextAttemptAt ?? null }
    },

    /** Deletes up to `limit` sent or failed rows finished before `before` (the prune job). */
    deleteFinishedBatch(before: Date, limit: number, tx: DbClient = prisma): Promise<number> {
      return tx.$executeRaw`DELETE FROM mail_outbox WHERE finished_at < ${before} ORDER BY finished_at LIMIT ${limit}`
    },
  }
}

export type MailOutboxRepository = ReturnType<typeof createMailOutboxRepository>
