import { parseArgs } from 'node:util'

export interface SoakOptions {
  quick: boolean
  durationSeconds: number
  /** Seconds after the clock starts when the database connection is cut. */
  cutAfterSeconds: number
  cutForSeconds: number
  users: number
  workers: number
  /**
   * Logins in flight at once; more wait their turn. The server runs bcrypt one hash per spare core with a
   * queue of 16 and sheds the excess with 503.
   */
  loginConcurrency: number
  /** Of the refresh operations: two tabs refreshing the same token at once. */
  raceShare: number
  /** Of the refresh operations: a spent token presented again after the grace window (a replay). */
  replayShare: number
  /** Write every response as one JSON line next to the report. */
  records: boolean
}

const USAGE = `usage: node --import tsx test/soak/soak.ts [options]
  --quick                   15 s, database cut at 5 s for 4 s, 200 users (CI)
  --duration <seconds>      length of the measured run (default 60)
  --cut-after <seconds>     when the database connection is cut (default: centred in the run)
  --cut-for <seconds>       how long it stays cut (default 10)
  --users <n>               users registered and logged in before the clock starts (default 300)
  --workers <n>             concurrent requests (default 64)
  --login-concurrency <n>   logins in flight at once; more wait their turn (default 8)
  --race-share <0..1>       share of refreshes sent twice at once, like two tabs (default 0.1)
  --replay-share <0..1>     share of refreshes that replay a spent token (default 0.05)
  --records                 also write every response as NDJSON to test-results/soak/
  --help`

function numberOption(name: string, raw: string | undefined, fallback: number, { min = 0, max = Infinity } = {}): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`--${name} must be a number from ${min} to ${max}\n${USAGE}`)
  }
  return value
}

export function parseOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      'cut-after': { type: 'string' },
      'cut-for': { type: 'string' },
      users: { type: 'string' },
      workers: { type: 'string' },
      'login-concurrency': { type: 'string' },
      'race-share': { type: 'string' },
      'replay-share': { type: 'string' },
      records: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const quick = values.quick
  const durationSeconds = numberOption('duration', values.duration, quick ? 15 : 60, { min: 1 })
  const cutForSeconds = numberOption('cut-for', values['cut-for'], quick ? 4 : 10)
  const cutAfterSeconds = numberOption('cut-after', values['cut-after'], quick ? 5 : (durationSeconds - cutForSeconds) / 2)
  if (cutAfterSeconds + cutForSeconds > durationSeconds) {
    throw new Error(`the cut (${cutAfterSeconds} s + ${cutForSeconds} s) must end before the run does (${durationSeconds} s)`)
  }
  const replayShare = numberOption('replay-share', values['replay-share'], 0.05, { max: 1 })
  const raceShare = numberOption('race-share', values['race-share'], 0.1, { max: 1 })
  if (raceShare + replayShare > 1) throw new Error('--race-share and --replay-share add up to more than 1')
  return {
    quick,
    durationSeconds,
    cutAfterSeconds,
    cutForSeconds,
    users: Math.round(numberOption('users', values.users, quick ? 200 : 300, { min: 1 })),
    workers: Math.round(numberOption('workers', values.workers, 64, { min: 1 })),
    loginConcurrency: Math.round(numberOption('login-concurrency', values['login-concurrency'], 8, { min: 1 })),
    raceShare,
    replayShare,
    records: values.records,
  }
}
