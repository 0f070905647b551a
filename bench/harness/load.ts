import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { percentile } from './stats.js'

/** One HTTP request as autocannon sends it. */
export interface LoadRequest {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
}

/**
 * What a run sends. Connection i cycles through `perConnection[i % length]`, so a scenario controls
 * exactly which tokens travel together (the same 200 everywhere, or disjoint slices of 60,000).
 */
export interface LoadPlan {
  perConnection: LoadRequest[][]
  /**
   * Every request may be sent once only (single-use refresh tokens): each connection stops at the end of
   * its list instead of starting over, and the run may end early.
   */
  singleUse?: boolean
}

export interface LoadSettings {
  connections: number
  /** The longest the run lasts. */
  durationSeconds: number
  /**
   * Ends the run early (what it ran alongside has ended). Responses received after that do not count
   * toward the latencies: autocannon only stops at its next one-second tick.
   */
  signal?: AbortSignal
}

export interface LoadResult {
  /** Mean of autocannon's per-second samples, the "Req/Sec Avg" of its CLI. */
  reqPerSec: number
  requests: number
  durationSeconds: number
  /** Latency in ms, from every response's own timing (autocannon's histogram rounds to whole ms). */
  p50Ms: number
  p99Ms: number
  maxMs: number
  statusCodes: Record<string, number>
  errors: number
  timeouts: number
  /** Single-use requests ran out before the duration did. */
  ranOut: boolean
  /** The signal ended the run. */
  stoppedEarly: boolean
  /** From the start to the signal, or to the end: the span the latencies cover. */
  measuredSeconds: number
  /**
   * How far each list of the plan got: responses plus the one request possibly still in flight when the
   * run stopped (the server may have seen it). Lets a scenario continue where the last run stopped.
   */
  sentPerList: number[]
}

interface AutocannonClient {
  setRequests(requests: LoadRequest[]): void
}

interface AutocannonResult {
  requests: { average: number; total: number }
  duration: number
  statusCodeStats: Record<string, { count: number }>
  errors: number
  timeouts: number
}

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void
  stop(): void
}

type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance

// autocannon ships no types and @types/autocannon is not installed: this is the subset used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

/** A growable list of response times, sorted once at the end. */
function latencyRecorder() {
  let values = new Float64Array(1 << 16)
  let count = 0
  return {
    record(ms: number) {
      if (count === values.length) {
        const bigger = new Float64Array(values.length * 2)
        bigger.set(values)
        values = bigger
      }
      values[count++] = ms
    },
    sorted: () => values.subarray(0, count).sort(),
  }
}

/** Runs autocannon in this process (never in the server's) and summarises the run. */
export function runLoad(baseUrl: string, plan: LoadPlan, settings: LoadSettings): Promise<LoadResult> {
  const lists = plan.perConnection.filter((list) => list.length > 0)
  const first = lists[0]?.[0]
  if (!first) throw new Error('a load plan needs at least one request')
  let nextList = 0
  const latencies = latencyRecorder()
  const listOf = new Map<unknown, number>()
  const responsesPerList = new Array<number>(lists.length).fill(0)
  const shortest = Math.min(...lists.map((list) => list.length))
  // Two connections sharing a list of single-use tokens would send each token twice.
  if (plan.singleUse && lists.length < settings.connections) throw new Error('single-use plans need a list per connection')
  const { signal } = settings
  if (signal?.aborted) throw new Error('the run was stopped before it started')
  const startedAt = performance.now()
  let stoppedAt: number | undefined

  return new Promise((resolve, reject) => {
    const onAbort = () => {
      stoppedAt = performance.now()
      instance.stop()
    }
    const instance = autocannon(
      {
        url: baseUrl,
        connections: settings.connections,
        duration: settings.durationSeconds,
        // Each client deep-copies these options, so the big lists go in through setupClient instead.
        requests: [first],
        setupClient: (client: AutocannonClient) => {
          const list = nextList++ % lists.length
          listOf.set(client, list)
          client.setRequests(lists[list] ?? [first])
        },
        maxConnectionRequests: plan.singleUse ? shortest : undefined,
      },
      (error, result) => {
        signal?.removeEventListener('abort', onAbort)
        if (error) return reject(error)
        const sorted = latencies.sorted()
        const statusCodes = Object.fromEntries(
          Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
        )
        resolve({
          reqPerSec: result.requests.average,
          requests: result.requests.total,
          durationSeconds: result.duration,
          p50Ms: percentile(sorted, 0.5),
          p99Ms: percentile(sorted, 0.99),
          maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] ?? 0) : 0,
          statusCodes,
          errors: result.errors,
          timeouts: result.timeouts,
          ranOut: plan.singleUse === true && result.requests.total >= shortest * settings.connections,
          stoppedEarly: stoppedAt !== undefined,
          measuredSeconds: ((stoppedAt ?? performance.now()) - startedAt) / 1000,
          sentPerList: responsesPerList.map((responses, list) => (list < settings.connections ? responses + 1 : 0)),
        })
      },
    )
    signal?.addEventListener('abort', onAbort, { once: true })
    instance.on('response', (client, _status, _bytes, ms) => {
      if (stoppedAt === undefined) latencies.record(ms)
      const list = listOf.get(client)
      if (list !== undefined) responsesPerList[list] = (responsesPerList[list] ?? 0) + 1
    })
  })
}
