import type { Clock } from '../clock.js'
import type { RevokedTokenRepository } from './revoked-token-repository.js'

export interface PruneOptions {
  batchSize?: number
  /** Called after every batch with the running total, for progress output. */
  onBatch?: (deletedSoFar: number) => void
}

/**
 * Deletes denylist rows whose tokens have expired anyway. Works in small batches, each its own short
 * statement, so refreshes running at the same time never wait long on its locks.
 */
export function createDenylistPruner(deps: { revocations: Pick<RevokedTokenRepository, 'deleteExpiredBatch'>; clock: Clock }) {
  return {
    async prune({ batchSize = 1000, onBatch }: PruneOptions = {}): Promise<number> {
      const before = new Date(deps.clock.now())
      let total = 0
      for (;;) {
        const deleted = await deps.revocations.deleteExpiredBatch(before, batchSize)
        total += deleted
        onBatch?.(total)
        if (deleted < batchSize) return total
      }
    },
  }
}

export type DenylistPruner = ReturnType<typeof createDenylistPruner>
