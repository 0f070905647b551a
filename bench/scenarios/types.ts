import type { BenchOptions } from '../harness/options.js'
import type { LoadPlan, LoadResult } from '../harness/load.js'
import type { RunningServer } from '../harness/server-process.js'
import type { Fixtures } from '../setup/fixtures.js'
import type { SigningKey } from '../setup/token-minter.js'

export interface ScenarioContext {
  options: BenchOptions
  server: RunningServer
  fx: Fixtures
  /** The server's signing key: its algorithm and public half, for the bare crypto.verify rate. */
  key: SigningKey
  /** The bench database, for processes a scenario starts itself (the prune). */
  databaseUrl: string
}

interface ScenarioBase {
  /** Used by --only, the results files and the targets. */
  id: string
  /** --only also accepts a group: `--only cold` runs /me cold and the crypto.verify rate it is compared with. */
  group: string
  title: string
  /** Which server (bench/scenarios/servers.ts) it runs against. */
  server: string
  /** Printed with the report's notes when the scenario ran: what a reader must know to read its row. */
  notes?: string[]
  /** Runs only when --only names it (or its group), never in a run of everything: the algorithm comparison. */
  optIn?: boolean
}

/** An HTTP load: autocannon against the server, with the server's RSS sampled during each run. */
export interface HttpScenario extends ScenarioBase {
  kind: 'http'
  /** Statuses that are part of the scenario; anything else makes the run suspect and is reported. */
  expectedStatuses: number[]
  /** Autocannon connections, when not --connections (logins: a few, or the bcrypt queue sheds them). */
  connections?: number
  /** Its RSS counts toward "max RSS under /me load". */
  meLoad?: boolean
  /** Once, before warm-up (fill tables). */
  prepare?(context: ScenarioContext): Promise<void>
  /** Before every run, warm-up included (start each run from the same state). */
  beforeRun?(context: ScenarioContext): Promise<void>
  /** After every run, warm-up included: lets a scenario plan the next run from what this one did. */
  afterRun?(context: ScenarioContext, load: LoadResult): void
  /** What to send; called for every run, so single-use tokens are fresh each time. */
  plan(context: ScenarioContext, seconds: number): Promise<LoadPlan>
  /** A second load running at the same time, measured on its own (logins while /me is measured). */
  alongside?: {
    title: string
    connections: number
    expectedStatuses: number[]
    plan(context: ScenarioContext, seconds: number): Promise<LoadPlan>
  }
  /** A process started with each measured run (the prune); the warm-up runs without it. */
  during?: BackgroundWork
}

/** What a process run alongside a measured run reports when it exits. */
export interface BackgroundOutcome {
  /** From its start to its exit. */
  seconds: number
  /** Its own numbers, for the JSON: rows there were, rows deleted. */
  counts: Record<string, number>
  /** One line for the report: "deleted 1,000,000 of 1,000,000 expired rows (8,100 rows/s)". */
  summary: string
}

export interface BackgroundProcess {
  /** Resolves when the process exits; rejects when it fails. */
  exited: Promise<BackgroundOutcome>
  /** Ends it early (the load failed); does nothing once it has exited. */
  kill(): void
}

/**
 * A process that each measured run runs alongside: the run starts when it starts and stops when it exits,
 * so every latency measured was measured while it ran. A run that reaches `maxSeconds` (or runs out of
 * single-use requests) first ends there, the process is left to finish, and the report says how much of
 * it the run covered.
 */
export interface BackgroundWork {
  title: string
  /** The longest a run may last waiting for it; the run's plan is made for this many seconds. */
  maxSeconds(context: ScenarioContext): number
  /** Starts it. Setup such as counting rows is done before it resolves, off the clock. */
  start(context: ScenarioContext): Promise<BackgroundProcess>
}

/** Something measured without HTTP, as a rate (operations per second). */
export interface RateScenario extends ScenarioBase {
  kind: 'rate'
  unit: string
  measure(context: ScenarioContext, seconds: number): Promise<number>
}

export type Scenario = HttpScenario | RateScenario
