import type { BenchAlgorithm } from '../setup/token-minter.js'

/**
 * The servers scenarios can run against, started one at a time in scenario order. Each gets the bench
 * environment (bench/run.ts) plus its own `env`. With BENCH_WORKERS, bench/server/server.mjs runs as
 * `npm run start:cluster` does: a primary and that many node:cluster workers on one port. The RSS
 * reported for a server is summed over its processes.
 */
export interface ServerSpec {
  id: string
  title: string
  env: Record<string, string>
  /** The signing algorithm, when not the project's default (the algorithm comparison). */
  algorithm?: BenchAlgorithm
}

/** The candidates for the default signing algorithm, compared side by side (`--only algorithms`). */
export const CANDIDATE_ALGORITHMS: BenchAlgorithm[] = ['EdDSA', 'ES256', 'RS256']

export const SERVERS: Record<string, ServerSpec> = {
  single: { id: 'single', title: 'one Node.js process', env: {} },
  'cluster-1': { id: 'cluster-1', title: 'node:cluster, 1 worker', env: { BENCH_WORKERS: '1' } },
  'cluster-2': { id: 'cluster-2', title: 'node:cluster, 2 workers', env: { BENCH_WORKERS: '2' } },
  // The single server again, fresh, for the prune scenarios, which run last.
  prune: { id: 'prune', title: 'one Node.js process, for the prune', env: {} },
  // One fresh single server per candidate algorithm, each with a key of its own.
  ...Object.fromEntries(
    CANDIDATE_ALGORITHMS.map((algorithm) => [
      `alg-${algorithm}`,
      { id: `alg-${algorithm}`, title: `one Node.js process, ${algorithm}`, env: { JWT_ALGORITHM: algorithm }, algorithm },
    ]),
  ),
}
