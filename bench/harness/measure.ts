import { setTimeout as sleep } from 'node:timers/promises'
import type { RunRecord, ScenarioResult } from '../report/results.js'
import type { HttpScenario, RateScenario, Scenario, ScenarioContext } from '../scenarios/types.js'
import { runLoad, type LoadPlan, type LoadResult } from './load.js'
import { sampleRss } from './rss.js'
import { mean } from './stats.js'

export const RUNS_PER_SCENARIO = 2

export interface MeasureSettings {
  connections: number
  durationSeconds: number
  warmupSeconds: number
  pauseMs: number
}

type Log = (line: string) => void

const fmt = (value: number | undefined, digits = 0) =>
  value === undefined ? '–' : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })

function describeRun(run: RunRecord, unit: string): string {
  const parts = [`${fmt(run.reqPerSec)} ${unit}`]
  if (run.p50Ms !== undefined) parts.push(`p50 ${fmt(run.p50Ms, 2)} ms`, `p99 ${fmt(run.p99Ms, 2)} ms`)
  if (run.rssPeakMb !== undefined) parts.push(`RSS ${fmt(run.rssPeakMb, 1)} MB`)
  return parts.join(', ')
}

const toRecord = (load: LoadResult, rssPeakMb?: number): RunRecord => ({
  reqPerSec: load.reqPerSec,
  requests: load.requests,
  p50Ms: load.p50Ms,
  p99Ms: load.p99Ms,
  maxMs: load.maxMs,
  rssPeakMb,
  statusCodes: load.statusCodes,
  errors: load.errors,
  timeouts: load.timeouts,
  ranOut: load.ranOut,
})

function meanOf(runs: RunRecord[]): ScenarioResult['mean'] {
  const defined = (pick: (run: RunRecord) => number | undefined) =>
    runs.map(pick).filter((value): value is number => value !== undefined)
  const p50 = defined((run) => run.p50Ms)
  const p99 = defined((run) => run.p99Ms)
  const rss = defined((run) => run.rssPeakMb)
  return {
    reqPerSec: mean(runs.map((run) => run.reqPerSec)),
    p50Ms: p50.length > 0 ? mean(p50) : undefined,
    p99Ms: p99.length > 0 ? mean(p99) : undefined,
    // The peak, not the mean: a memory limit meets the highest value.
    rssPeakMb: rss.length > 0 ? Math.max(...rss) : undefined,
  }
}

function sumStatuses(runs: RunRecord[]): Record<string, number> {
  const total: Record<string, number> = {}
  for (const run of runs) {
    for (const [code, count] of Object.entries(run.statusCodes ?? {})) total[code] = (total[code] ?? 0) + count
  }
  return total
}

/** What makes a run's numbers suspect: answers the scenario does not expect, socket errors, tokens spent. */
function warningsFor(label: string, runs: RunRecord[], expected: number[]): string[] {
  const warnings: string[] = []
  runs.forEach((run, index) => {
    const name = `${label} run ${index + 1}`
    const unexpected = Object.entries(run.statusCodes ?? {}).filter(([code]) => !expected.includes(Number(code)))
    if (unexpected.length > 0) {
      warnings.push(`${name}: unexpected statuses ${unexpected.map(([code, count]) => `${code} ×${count}`).join(', ')}`)
    }
    if (run.errors || run.timeouts) warnings.push(`${name}: ${run.errors} socket errors, ${run.timeouts} timeouts`)
    if (run.ranOut) warnings.push(`${name}: ran out of single-use tokens and ended early`)
  })
  return warnings
}

async function measureHttp(scenario: HttpScenario, context: ScenarioContext, settings: MeasureSettings, log: Log) {
  const { server } = context
  const { alongside } = scenario
  const load = async (seconds: number) => {
    await scenario.beforeRun?.(context)
    // Plans are built (tokens minted) before the clock starts.
    const [main, side] = await Promise.all([scenario.plan(context, seconds), alongside?.plan(context, seconds)])
    const rss = sampleRss(server.pid)
    const run = (plan: LoadPlan, connections: number) => runLoad(server.baseUrl, plan, { connections, durationSeconds: seconds })
    const [mainResult, sideResult] = await Promise.all([
      run(main, settings.connections),
      side && alongside ? run(side, alongside.connections) : undefined,
    ])
    const rssPeakMb = rss.stop().peakMb
    scenario.afterRun?.(context, mainResult)
    return { main: toRecord(mainResult, rssPeakMb), side: sideResult && toRecord(sideResult) }
  }

  await scenario.prepare?.(context)
  if (settings.warmupSeconds > 0) await load(settings.warmupSeconds)

  const runs: RunRecord[] = []
  const sideRuns: RunRecord[] = []
  for (let run = 1; run <= RUNS_PER_SCENARIO; run++) {
    await sleep(settings.pauseMs)
    const { main, side } = await load(settings.durationSeconds)
    runs.push(main)
    log(`  run ${run}: ${describeRun(main, 'req/s')}`)
    if (side) {
      sideRuns.push(side)
      log(`         alongside: ${describeRun(side, 'req/s')}, statuses ${JSON.stringify(side.statusCodes)}`)
    }
  }

  const result: ScenarioResult = {
    id: scenario.id,
    group: scenario.group,
    title: scenario.title,
    unit: 'req/s',
    meLoad: scenario.meLoad === true,
    runs,
    mean: meanOf(runs),
    warnings: warningsFor(scenario.id, runs, scenario.expectedStatuses),
  }
  if (alongside) {
    result.alongside = { title: alongside.title, runs: sideRuns, mean: meanOf(sideRuns), statusCodes: sumStatuses(sideRuns) }
    result.warnings.push(...warningsFor(`${scenario.id} alongside`, sideRuns, alongside.expectedStatuses))
  }
  return result
}

async function measureRate(scenario: RateScenario, context: ScenarioContext, settings: MeasureSettings, log: Log) {
  const runs: RunRecord[] = []
  for (let run = 1; run <= RUNS_PER_SCENARIO; run++) {
    await sleep(settings.pauseMs)
    const record: RunRecord = { reqPerSec: await scenario.measure(context, settings.durationSeconds) }
    runs.push(record)
    log(`  run ${run}: ${describeRun(record, scenario.unit)}`)
  }
  const result: ScenarioResult = {
    id: scenario.id,
    group: scenario.group,
    title: scenario.title,
    unit: scenario.unit,
    meLoad: false,
    runs,
    mean: meanOf(runs),
    warnings: [],
  }
  return result
}

/** Prepares, warms up and measures one scenario RUNS_PER_SCENARIO times. */
export function measureScenario(scenario: Scenario, context: ScenarioContext, settings: MeasureSettings, log: Log) {
  return scenario.kind === 'http'
    ? measureHttp(scenario, context, settings, log)
    : measureRate(scenario, context, settings, log)
}
