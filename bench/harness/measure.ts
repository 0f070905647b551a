import { setTimeout as sleep } from 'node:timers/promises'
import { describeBackgroundRun } from '../report/format.js'
import type { BackgroundRun, RunRecord, ScenarioResult } from '../report/results.js'
import type { BackgroundWork, HttpScenario, RateScenario, Scenario, ScenarioContext } from '../scenarios/types.js'
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

const toRecord = (load: LoadResult, rss?: { peakMb: number; processes: number }): RunRecord => ({
  reqPerSec: load.reqPerSec,
  requests: load.requests,
  p50Ms: load.p50Ms,
  p99Ms: load.p99Ms,
  maxMs: load.maxMs,
  rssPeakMb: rss?.peakMb,
  rssProcesses: rss?.processes,
  measuredSeconds: load.stoppedEarly ? load.measuredSeconds : undefined,
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

/** Answers the scenario does not expect, summed over its runs: a run with any measured something else. */
function unexpectedStatuses(runs: RunRecord[], expected: number[]): Record<string, number> {
  return Object.fromEntries(Object.entries(sumStatuses(runs)).filter(([code]) => !expected.includes(Number(code))))
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

/**
 * Runs a load alongside a background process: both start together and the load stops when the process
 * exits, so every latency was measured while it ran. A load that ends first (its longest duration, or
 * single-use requests spent) leaves the process to finish, and the record says how much of it was covered.
 */
async function whileRunning<Loads extends [LoadResult, ...unknown[]]>(
  work: BackgroundWork,
  context: ScenarioContext,
  load: (signal: AbortSignal) => Promise<Loads>,
): Promise<{ loads: Loads; run: BackgroundRun }> {
  const stop = new AbortController()
  const running = await work.start(context)
  const exited = running.exited.finally(() => stop.abort())
  // Awaited below; this keeps a failure while the load still runs from counting as unhandled.
  exited.catch(() => undefined)
  try {
    const loads = await load(stop.signal)
    const [result] = loads
    const outcome = await exited
    return {
      loads,
      run: {
        seconds: outcome.seconds,
        runSeconds: result.measuredSeconds,
        finishedDuringRun: result.stoppedEarly,
        covered: result.stoppedEarly ? 1 : Math.min(1, result.measuredSeconds / outcome.seconds),
        counts: outcome.counts,
        summary: outcome.summary,
      },
    }
  } finally {
    running.kill()
  }
}

/** A background run that does not fully back its scenario's comparison. */
function backgroundWarnings(label: string, runs: BackgroundRun[], records: RunRecord[], durationSeconds: number): string[] {
  return runs.flatMap((run, index) => {
    const name = `${label} run ${index + 1}`
    const spans = `${fmt(run.runSeconds, 1)} s of ${fmt(run.seconds, 1)} s`
    if (!run.finishedDuringRun) {
      const covered = `${Math.floor(run.covered * 100)}%`
      return [`${name}: the run ended before the process it ran with (${spans}): it covered ${covered} of it`]
    }
    if (run.runSeconds < durationSeconds) {
      return [
        `${name}: the process took only ${fmt(run.seconds, 1)} s, less than the ${fmt(durationSeconds)} s runs ` +
          `without it: this run's latencies rest on ~${fmt(records[index]?.requests)} responses`,
      ]
    }
    return []
  })
}

async function measureHttp(scenario: HttpScenario, context: ScenarioContext, settings: MeasureSettings, log: Log) {
  const { server } = context
  const { alongside, during } = scenario
  const expectedProcesses = server.info.workers === 0 ? 1 : server.info.workers + 1
  const rssProcesses = new Set<number>()

  /** One run of at most `seconds`; with a background process, it ends when that process exits. */
  const load = async (seconds: number, background?: { work: BackgroundWork; announce: string }) => {
    await scenario.beforeRun?.(context)
    // Plans are built (tokens minted) before the clock starts.
    const [main, side] = await Promise.all([scenario.plan(context, seconds), alongside?.plan(context, seconds)])
    if (background) log(background.announce)
    const rss = sampleRss(server.pid)
    const run = (plan: LoadPlan, connections: number, signal?: AbortSignal) =>
      runLoad(server.baseUrl, plan, { connections, durationSeconds: seconds, signal })
    const both = (signal?: AbortSignal) =>
      Promise.all([
        run(main, scenario.connections ?? settings.connections, signal),
        side && alongside ? run(side, alongside.connections, signal) : undefined,
      ])
    const { loads, run: backgroundRun } = background
      ? await whileRunning(background.work, context, both)
      : { loads: await both(), run: undefined }
    const [mainResult, sideResult] = loads
    const rssRun = rss.stop()
    rssProcesses.add(rssRun.processes)
    scenario.afterRun?.(context, mainResult)
    return { main: toRecord(mainResult, rssRun), side: sideResult && toRecord(sideResult), background: backgroundRun }
  }

  await scenario.prepare?.(context)
  if (settings.warmupSeconds > 0) await load(settings.warmupSeconds)

  const runs: RunRecord[] = []
  const sideRuns: RunRecord[] = []
  const backgroundRuns: BackgroundRun[] = []
  for (let run = 1; run <= RUNS_PER_SCENARIO; run++) {
    await sleep(settings.pauseMs)
    const seconds = during ? during.maxSeconds(context) : settings.durationSeconds
    const announce = `  run ${run}: starts with ${during?.title} and ends when it exits (at most ${fmt(seconds)} s) ...`
    const { main, side, background } = await load(seconds, during && { work: during, announce })
    runs.push(main)
    log(`  run ${run}: ${describeRun(main, 'req/s')}`)
    if (side) {
      sideRuns.push(side)
      log(`         alongside: ${describeRun(side, 'req/s')}, statuses ${JSON.stringify(side.statusCodes)}`)
    }
    if (background) {
      backgroundRuns.push(background)
      log(`         with it: ${describeBackgroundRun(background)}`)
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
  const wrong = {
    ...unexpectedStatuses(runs, scenario.expectedStatuses),
    ...(alongside ? unexpectedStatuses(sideRuns, alongside.expectedStatuses) : {}),
  }
  if (Object.keys(wrong).length > 0) result.unexpectedStatuses = wrong
  if (during) {
    result.background = { title: during.title, runs: backgroundRuns }
    result.warnings.push(...backgroundWarnings(scenario.id, backgroundRuns, runs, settings.durationSeconds))
  }
  const unexpected = [...rssProcesses].filter((count) => count !== expectedProcesses)
  if (unexpected.length > 0) {
    result.warnings.push(`${scenario.id}: RSS summed over ${unexpected.join(', ')} processes, expected ${expectedProcesses}`)
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
