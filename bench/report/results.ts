import type { Machine } from '../harness/machine.js'

/** One measured run of a scenario. Latencies in ms; RSS of the server in MB (summed over a cluster's processes). */
export interface RunRecord {
  reqPerSec: number
  requests?: number
  p50Ms?: number
  p99Ms?: number
  maxMs?: number
  rssPeakMb?: number
  /** How many processes the RSS is summed over: 1, or a cluster's primary plus its workers. */
  rssProcesses?: number
  /** The span the latencies cover, when a background process ended the run early. */
  measuredSeconds?: number
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
  /** The process each measured run ran alongside (the prune), one record per run. */
  background?: { title: string; runs: BackgroundRun[] }
  /** Statuses neither the load nor what ran alongside expects: the numbers then measure failures. */
  unexpectedStatuses?: Record<string, number>
  warnings: string[]
}

/** What a background process did during one measured run. */
export interface BackgroundRun {
  /** From its start to its exit. */
  seconds: number
  /** How long the measured run lasted; it started with the process. */
  runSeconds: number
  finishedDuringRun: boolean
  /** Share of the process's time the measured run covered: 1 when it finished during the run. */
  covered: number
  counts: Record<string, number>
  summary: string
}

export interface TargetResult {
  label: string
  /** e.g. '≥ 0.70'; empty for a measure printed as information, with no target. */
  target: string
  value?: number
  unit: 'ratio' | 'MB' | 'ms'
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
    /** Expired rows the prune scenarios delete. */
    expiredDenylistRows: number
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
