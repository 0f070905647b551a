import { parseArgs } from 'node:util'

export interface BenchOptions {
  quick: boolean
  /** Scenario ids or groups to run; empty means all. */
  only: string[]
  durationSeconds: number
  connections: number
  /** Unmeasured load on the fresh server before the first scenario, so run 1 does not pay for JIT warm-up. */
  warmupSeconds: number
  /** Quiet time between runs, so one run's garbage and sockets do not spill into the next. */
  pauseMs: number
  /** Rows put in revoked_tokens for the "full denylist" refresh scenario. */
  denylistRows: number
  /** Expired rows in revoked_tokens for the prune scenarios: 1,000,000 is the reliability target's size. */
  pruneRows: number
  keepDatabase: boolean
  /** Where the server writes a V8 CPU profile (`node --cpu-prof`) when it stops; none without --cpu-prof. */
  cpuProfileDir?: string
  /** Where the server writes a V8 heap snapshot (and its /proc smaps_rollup) after each scenario; none without --heap-snapshot. */
  heapSnapshotDir?: string
}

const USAGE = `usage: node --import tsx bench/run.ts [options]
  --quick               ~2 s per run, smaller denylists: proves the harness works, says nothing about speed
  --only <ids>          comma-separated scenario ids or groups (e.g. --only me-warm,cold)
  --duration <seconds>  seconds per run (default 10, quick 2)
  --connections <n>     autocannon connections (default 50)
  --keep-database       leave the jwt_bench database and the Redis session keys behind for inspection
  --cpu-prof <dir>      run each server under node --cpu-prof, writing its profile to <dir> when it stops
  --heap-snapshot <dir> after each scenario, write a heap snapshot of the server (its first process) to <dir>
  --help`

function parseArgsOrUsage(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string' },
        'keep-database': { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
        'heap-snapshot': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    })
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`)
  }
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgsOrUsage(argv)
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const quick = values.quick
  const positive = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number\n${USAGE}`)
    return value
  }
  return {
    quick,
    only: (values.only ?? '').split(',').map((id) => id.trim()).filter(Boolean),
    durationSeconds: positive('duration', values.duration, quick ? 2 : 10),
    connections: Math.round(positive('connections', values.connections, 50)),
    warmupSeconds: quick ? 0.5 : 3,
    pauseMs: quick ? 200 : 1000,
    denylistRows: quick ? 100_000 : 1_000_000,
    pruneRows: quick ? 100_000 : 1_000_000,
    keepDatabase: values['keep-database'],
    cpuProfileDir: values['cpu-prof'],
    heapSnapshotDir: values['heap-snapshot'],
  }
}
