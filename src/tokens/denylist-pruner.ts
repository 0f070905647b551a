import type { Clock } from '../clock.js'
import type { RevokedTokenRepository } from './revoked-token-repository.js'

export interface PruneOptions {
  batchSize?: number
  /** Rest between batches, leaving the database to the requests that matter more than housekeeping. */
  pauseMs?: number
  /** Called after every batch with the running total, for progress output. */
  onBatch?: (deletedSoFar: number) => void
}

export const PRUNE_BATCH_SIZE = 1000
export const PRUNE_PAUSE_MS = 20
/** The largest clock tolerance the verifier can be configured with (JWT_CLOCK_TOLERANCE_SECONDS). */
export const MAX_CLOCK_TOLERANCE_SECONDS = 30

/**
 * Deletes denylist rows whose tokens have expired anyway: expired past any clock tolerance, because the
 * verifier still accepts a token that long after its `exp`, and a row pruned sooner would let a revoked
 * token refresh again. Works in small batches, each its own short
 * statement (rows of the past only, never those a refresh writes), with a pause between batches, so
 * refreshes running at the same time neither wait on its locks nor queue behind its I/O.
 */
export function createDenylistPruner(deps: { revocations: Pick<RevokedTokenRepository, 'deleteExpiredBatch'>; clock: Clock }) {
  return {
    async prune({ batchSize = PRUNE_BATCH_SIZE, pauseMs = PRUNE_PAUSE_MS, onBatch }: PruneOptions = {}): Promise<number> {
      const before = new Date(deps.clock.now() - MAX_CLOCK_TOLERANCE_SECONDS * 1000)
      let total = 0
      for (;;) {
        const deleted = await deps.revocations.deleteExpiredBatch(before, batchSize)
        total += deleted
        onBatch?.(total)
        if (deleted < batchSize) return total
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
      }
    },
  }
}

export type DenylistPruner = ReturnType<typeof createDenylistPruner>
