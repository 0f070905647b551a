import type { BackgroundRun, BenchReport, ScenarioResult, TargetResult } from './results.js'

export const HEADER = ['scenario', 'run 1 req/s', 'run 2 req/s', 'mean req/s', 'p50 ms', 'p99 ms', 'RSS MB']

export const num = (value: number | undefined, digits = 0) =>
  value === undefined ? '–' : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })

function row(title: string, result: Pick<ScenarioResult, 'runs' | 'mean'>): string[] {
  return [
    title,
    num(result.runs[0]?.reqPerSec),
    num(result.runs[1]?.reqPerSec),
    num(result.mean.reqPerSec),
    num(result.mean.p50Ms, 2),
    num(result.mean.p99Ms, 2),
    num(result.mean.rssPeakMb, 1),
  ]
}

/** The results table: one row per scenario, plus one for a load that ran alongside. */
export function tableRows(report: BenchReport): string[][] {
  return report.scenarios.flatMap((result) => {
    const rows = [row(result.title, result)]
    if (result.alongside) rows.push(row(`  ↳ alongside: ${result.alongside.title}`, result.alongside))
    return rows
  })
}

/** ✓ or ✗ against the target; ℹ for a measure with no target; – when not measured. */
export const mark = (target: TargetResult) => {
  if (target.pass !== undefined) return target.pass ? '✓' : '✗'
  return target.target === '' && target.value !== undefined ? 'ℹ' : '–'
}

export const targetText = (target: TargetResult) => target.target || 'none (information)'

export const measured = (target: TargetResult) =>
  target.value === undefined ? 'n/a' : target.unit === 'MB' ? `${num(target.value, 1)} MB` : target.unit === 'ms' ? `${num(target.value, 1)} ms` : num(target.value, 2)

/** What the load alongside a scenario got: "alongside me-under-logins, POST /auth/login: 200 ×1,234, 503 ×0". */
export function alongsideLine(result: ScenarioResult): string | undefined {
  if (!result.alongside) return undefined
  return `alongside ${result.id}, ${result.alongside.title}: ${statusLine(result.alongside.statusCodes, [200, 429, 503])}`
}

/** "200 ×1,234, 503 ×0" */
export function statusLine(statusCodes: Record<string, number>, always: number[] = []): string {
  const codes = new Set([...always.map(String), ...Object.keys(statusCodes)])
  return [...codes]
    .sort()
    .map((code) => `${code} ×${num(statusCodes[code] ?? 0)}`)
    .join(', ')
}

const percent = (fraction: number) => `${Math.floor(fraction * 100)}%`

/** "deleted 1,000,000 of 1,000,000 expired rows (8,100 rows/s) in 123.4 s; it finished during the run" */
export function describeBackgroundRun(run: BackgroundRun): string {
  const when = run.finishedDuringRun
    ? 'it finished during the run'
    : `the run ended after ${num(run.runSeconds, 1)} s, covering ${percent(run.covered)} of it`
  return `${run.summary} in ${num(run.seconds, 1)} s; ${when}`
}

/** One line per measured run of a scenario that ran alongside a process (the prune). */
export function backgroundLines(result: ScenarioResult): string[] {
  const { background } = result
  if (!background) return []
  return background.runs.map(
    (run, index) => `${result.id} run ${index + 1}, ${background.title}: ${describeBackgroundRun(run)}`,
  )
}

export function machineLines(report: BenchReport): string[] {
  const { machine } = report
  return [
    `CPU: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB RAM`,
    `OS: ${machine.os}`,
    `Node.js ${machine.node}, MariaDB ${machine.mariadb}, Redis ${machine.redis}`,
    `load average (1 min): ${machine.loadAverage.start} at start, ${machine.loadAverage.end ?? '?'} at end`,
  ]
}

export function settingsLines(report: BenchReport): string[] {
  const { settings } = report
  const mode = `${report.mode}${report.partial ? ' (only some scenarios)' : ''}`
  return [
    `mode: ${mode}; ${settings.runsPerScenario} runs of ${settings.durationSeconds} s per scenario after ` +
      `${settings.warmupSeconds} s of warm-up, ${settings.connections} connections`,
    `${settings.users} users logged in; ${num(settings.coldTokens)} cold tokens for a cache of ` +
      `${num(settings.accessTokenCacheSize)}; ${num(settings.sessions)} sessions; ` +
      `${num(settings.denylistRows)} denylist rows; ${num(settings.expiredDenylistRows)} expired rows to prune`,
    `server: ${Object.entries(report.serverEnv)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ')}`,
  ]
}
