import type { Machine } from '../harness/machine.js'

/** One measured run of a scenario. Latencies in ms; RSS of the server process in MB. */
export interface RunRecord {
  reqPerSec: number
  requests?: number
  p50Ms?: number
  p99Ms?: number
  maxMs?: number
  rssPeakMb?: number
  statusCodes?: Record<string, number>
  errors?: number
  timeouts?: number
  ranOut?: boolean
}

export interface ScenarioResult {
  id: string
  group: string
  title: string
  unit: string
  /** Whether its RSS counts toward "max RSS under /me load". */
  meLoad: boolean
  runs: RunRecord[]
  mean: { reqPerSec: number; p50Ms?: number; p99Ms?: number; rssPeakMb?: number }
  /** The load that ran at the same time (logins), measured on its own. */
  alongside?: { title: string; runs: RunRecord[]; mean: ScenarioResult['mean']; statusCodes: Record<string, number> }
  warnings: string[]
}

export interface TargetResult {
  label: string
  /** e.g. '≥ 0.70' */
  target: string
  value?: number
  unit: 'ratio' | 'MB'
  pass?: boolean
  /** What the value was computed from, for readers who want to check. */
  detail: string
}

export interface BenchReport {
  startedAt: string
  finishedAt: string
  mode: 'full' | 'quick'
  /** Only some scenarios ran (--only). */
  partial: boolean
  settings: {
    connections: number
    durationSeconds: number
    runsPerScenario: number
    warmupSeconds: number
    users: number
    sessions: number
    coldTokens: number
    denylistRows: number
    accessTokenCacheSize: number
  }
  /** The bench server's configuration, key material left out. */
  serverEnv: Record<string, string>
  machine: Machine
  setup: { step: string; seconds: number }[]
  scenarios: ScenarioResult[]
  targets: TargetResult[]
  notes: string[]
}
