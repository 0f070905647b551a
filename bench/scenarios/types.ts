import type { BenchOptions } from '../harness/options.js'
import type { LoadPlan, LoadResult } from '../harness/load.js'
import type { RunningServer } from '../harness/server-process.js'
import type { Fixtures } from '../setup/fixtures.js'

export interface ScenarioContext {
  options: BenchOptions
  server: RunningServer
  fx: Fixtures
  publicKeyPem: string
}

interface ScenarioBase {
  /** Used by --only, the results files and the targets. */
  id: string
  /** --only also accepts a group: `--only cold` runs /me cold and the crypto.verify rate it is compared with. */
  group: string
  title: string
  /** Which server (bench/scenarios/servers.ts) it runs against. */
  server: string
}

/** An HTTP load: autocannon against the server, with the server's RSS sampled during each run. */
export interface HttpScenario extends ScenarioBase {
  kind: 'http'
  /** Statuses that are part of the scenario; anything else makes the run suspect and is reported. */
  expectedStatuses: number[]
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
}

/** Something measured without HTTP, as a rate (operations per second). */
export interface RateScenario extends ScenarioBase {
  kind: 'rate'
  unit: string
  measure(context: ScenarioContext, seconds: number): Promise<number>
}

export type Scenario = HttpScenario | RateScenario
