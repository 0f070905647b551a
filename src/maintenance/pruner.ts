import type { Clock } from '../clock.js'
import type { AccountLinkRepository } from '../account/account-link-repository.js'
import type { AuthEventRepository } from '../events/auth-event-repository.js'
import type { MailOutboxRepository } from '../mail/mail-outbox-repository.js'
import type { SessionRepository } from '../sessions/session-repository.js'
import { MAX_CLOCK_TOLERANCE_SECONDS } from '../tokens/claims.js'
import type { RevokedTokenRepository } from '../tokens/revoked-token-repository.js'

export interface PruneOptions {
  batchSize?: number
  /** Rest between batches, leaving the database to the requests that matter more than housekeeping. */
  pauseMs?: number
  /** Called after every batch with the table and its running total, for progress output. */
  onBatch?: (table: string, deletedSoFar: number) => void
}

/** A table with rows that are of no use any more; `deleteBatch` removes up to `limit` of those at `nowMs`. */
export interface PruneTable {
  name: string
  deleteBatch(nowMs: number, limit: number): Promise<number>
}

export const PRUNE_BATCH_SIZE = 1000
export const PRUNE_PAUSE_MS = 20
/** Sent and failed mail stays this long, to be looked at (README, "Mail"), then goes. */
export const MAIL_RETENTION_DAYS = 7

/** Rows deleted, by table name. */
export type PruneCounts = Record<string, number>

/**
 * What the prune job and `npm run db:prune` clean up:
 * - denylist rows whose tokens have expired past any clock tolerance: the verifier still accepts a token
 *   that long after its `exp`, and a row pruned sooner would let a revoked token refresh again;
 * - links past their expiry, used or not;
 * - mail sent or failed more than MAIL_RETENTION_DAYS ago;
 * - sessions past their expiry (with the same tolerance as their family's denylist row), and sessions
 *   ended early (logout, logout-all, a password change): the list shows neither already;
 * - security events older than the retention (AUTH_EVENT_RETENTION_DAYS).
 */
export function pruneTablesOf(
  repositories: {
    revocations: Pick<RevokedTokenRepository, 'deleteExpiredBatch'>
    links: Pick<AccountLinkRepository, 'deleteExpiredBatch'>
    outbox: Pick<MailOutboxRepository, 'deleteFinishedBatch'>
    sessions: Pick<SessionRepository, 'deleteExpiredBatch' | 'deleteEndedBatch'>
    events: Pick<AuthEventRepository, 'deleteOlderBatch'>
  },
  settings: { eventRetentionDays: number },
): PruneTable[] {
  const { revocations, links, outbox, sessions, events } = repositories
  const toleranceMs = MAX_CLOCK_TOLERANCE_SECONDS * 1000
  return [
    {
      name: 'denylist',
      deleteBatch: (nowMs, limit) => revocations.deleteExpiredBatch(new Date(nowMs - toleranceMs), limit),
    },
    { name: 'links', deleteBatch: (nowMs, limit) => links.deleteExpiredBatch(new Date(nowMs), limit) },
    {
      name: 'mail',
      deleteBatch: (nowMs, limit) => outbox.deleteFinishedBatch(new Date(nowMs - MAIL_RETENTION_DAYS * 86_400_000), limit),
    },
    { name: 'sessions', deleteBatch: (nowMs, limit) => sessions.deleteExpiredBatch(new Date(nowMs - toleranceMs), limit) },
    { name: 'ended sessions', deleteBatch: (_nowMs, limit) => sessions.deleteEndedBatch(limit) },
    {
      name: 'events',
      deleteBatch: (nowMs, limit) => events.deleteOlderBatch(new Date(nowMs - settings.eventRetentionDays * 86_400_000), limit),
    },
  ]
}

/**
 * Deletes what `tables` no longer need, table after table, in small batches, each its own short statement
 * on rows of the past only (never those a request writes), with a pause between batches: requests running
 * at the same time neither wait on its locks nor queue behind its I/O.
 */
export function createPruner(deps: { tables: PruneTable[]; clock: Clock }) {
  return {
    async prune({ batchSize = PRUNE_BATCH_SIZE, pauseMs = PRUNE_PAUSE_MS, onBatch }: PruneOptions = {}): Promise<PruneCounts> {
      const nowMs = deps.clock.now()
      const counts: PruneCounts = {}
      for (const table of deps.tables) {
        let total = 0
        for (;;) {
          const deleted = await table.deleteBatch(nowMs, batchSize)
          total += deleted
          onBatch?.(table.name, total)
          if (deleted < batchSize) break
          if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
        }
        counts[table.name] = total
      }
      return counts
    },
  }
}

export type Pruner = ReturnType<typeof createPruner>
