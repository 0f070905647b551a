import { writeFileSync } from 'node:fs'
import { CUT_SLACK_MS, type Check } from './invariants.js'
import type { SoakOptions } from './options.js'
import { DB_BOUND_ROUTES, ROUTE_LABELS, type ResponseRecord, type Route, type RunWindow } from './records.js'
import type { DenylistRow } from './soak-database.js'
import type { LogSummary, StopResult } from './soak-server.js'
import type { SetupSummary } from './simulated-users.js'
import type { SessionCounters } from './workload.js'

export interface RouteSummary {
  route: Route
  label: string
  requests: number
  perSecond: number
  p50Ms: number
  p99Ms: number
  /** "200", "401 token_reused", "503 service_unavailable", "0 ECONNRESET": count. */
  answers: Record<string, number>
}

/** One second of the run: what happened while the database was up, cut, and coming back. */
export interface Second {
  second: number
  requests: number
  dbBoundOk: number
  unavailable: number
}

export interface SoakReport {
  startedAt: string
  ok: boolean
  options: SoakOptions
  graceSeconds: number
  /** ms from the start of the run. */
  cut: { atMs: number; restoredAtMs: number; durationMs: number }
  durationMs: number
  setup: SetupSummary
  routes: RouteSummary[]
  timeline: Second[]
  sessions: SessionCounters
  denylist: { rows: number; byReason: Record<string, number> }
  server: { exit: StopResult; log: LogSummary & { file: string } }
  client: { loopDelayMs: { p99: number; max: number } }
  invariants: Check[]
  files: { report: string; records?: string }
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? 0
}

const tenths = (value: number) => Math.round(value * 10) / 10

const answerKey = (record: ResponseRecord) => (record.code ? `${record.status} ${record.code}` : String(record.status))

export function summarizeRoutes(records: ResponseRecord[], window: RunWindow): RouteSummary[] {
  const seconds = (window.endedAt - window.startedAt) / 1000
  return (Object.keys(ROUTE_LABELS) as Route[]).map((route) => {
    const mine = records.filter((record) => record.route === route)
    const latencies = Float64Array.from(mine, (record) => record.latencyMs).sort()
    const answers: Record<string, number> = {}
    for (const record of mine) answers[answerKey(record)] = (answers[answerKey(record)] ?? 0) + 1
    return {
      route,
      label: ROUTE_LABELS[route],
      requests: mine.length,
      perSecond: tenths(mine.length / seconds),
      p50Ms: tenths(percentile(latencies, 0.5)),
      p99Ms: tenths(percentile(latencies, 0.99)),
      answers,
    }
  })
}

/** Answers per second of the run, by the second they came back in. */
export function timelineOf(records: ResponseRecord[], window: RunWindow): Second[] {
  const length = Math.max(1, Math.ceil((window.endedAt - window.startedAt) / 1000))
  const seconds: Second[] = Array.from({ length }, (_, second) => ({ second, requests: 0, dbBoundOk: 0, unavailable: 0 }))
  for (const record of records) {
    const slot = seconds[Math.min(length - 1, Math.floor((record.endedAt - window.startedAt) / 1000))]
    if (!slot) continue
    slot.requests++
    if (DB_BOUND_ROUTES.has(record.route) && record.status >= 200 && record.status < 300) slot.dbBoundOk++
    if (record.status === 503) slot.unavailable++
  }
  return seconds
}

export function denylistByReason(rows: DenylistRow[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const row of rows) counts[row.reason] = (counts[row.reason] ?? 0) + 1
  return counts
}

const BARS = ' ▁▂▃▄▅▆▇█'
const WIDTH = 60

/** A row of bars, one per second (or per group of seconds past 60), scaled to the row's own maximum. */
function sparkline(values: number[]): string {
  const perChar = Math.max(1, Math.ceil(values.length / WIDTH))
  const grouped: number[] = []
  for (let i = 0; i < values.length; i += perChar) grouped.push(values.slice(i, i + perChar).reduce((sum, value) => sum + value, 0))
  const max = Math.max(1, ...grouped)
  return grouped.map((value) => BARS[value === 0 ? 0 : Math.max(1, Math.round((value / max) * 8))]).join('')
}

const pad = (text: string | number, width: number) => String(text).padStart(width)
const describe = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, count]) => `${key} ×${count}`)
    .join(' · ')

function routeTable(routes: RouteSummary[]): string[] {
  const lines = [`${'route'.padEnd(19)} ${pad('requests', 8)} ${pad('req/s', 7)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)}  answers`]
  for (const route of routes) {
    lines.push(
      `${route.label.padEnd(19)} ${pad(route.requests, 8)} ${pad(route.perSecond.toFixed(1), 7)} ` +
        `${pad(route.p50Ms.toFixed(1), 7)} ${pad(route.p99Ms.toFixed(1), 7)}  ${describe(route.answers)}`,
    )
  }
  return lines
}

/** Under the sparklines: × where the database was cut. */
function cutMarker(report: SoakReport): string {
  const perChar = Math.max(1, Math.ceil(report.timeline.length / WIDTH))
  const length = Math.ceil(report.timeline.length / perChar)
  const from = Math.floor(report.cut.atMs / 1000 / perChar)
  const to = Math.ceil(report.cut.restoredAtMs / 1000 / perChar)
  return Array.from({ length }, (_, i) => (i >= from && i < to ? '×' : '·')).join('')
}

const series = (label: string, values: number[]) =>
  `${label.padEnd(13)}${sparkline(values)}  peak ${values.reduce((max, value) => Math.max(max, value), 0)}`

/** A check and its detail; a failed one also shows its first example, cut to a line. */
function renderCheck(check: Check): string {
  const lines = [`${check.ok ? '✓' : '✗'} ${check.name}`, `    ${check.detail}`]
  if (!check.ok && check.examples[0] !== undefined) lines.push(`    e.g. ${JSON.stringify(check.examples[0]).slice(0, 150)}`)
  return lines.join('\n')
}

/** The one-screen summary printed at the end of a run. */
export function renderReport(report: SoakReport): string {
  const { options, cut } = report
  const sessions = report.sessions
  const lines = [
    `soak: ${(report.durationMs / 1000).toFixed(1)} s, ${options.workers} workers, ${options.users} users · ` +
      `database cut at ${(cut.atMs / 1000).toFixed(1)} s for ${(cut.durationMs / 1000).toFixed(1)} s · ` +
      `grace window ${report.graceSeconds} s · setup ${(report.setup.ms / 1000).toFixed(1)} s`,
    '',
    ...routeTable(report.routes),
    '',
    series('requests/s', report.timeline.map((second) => second.requests)),
    series('DB-bound 2xx', report.timeline.map((second) => second.dbBoundOk)),
    series('503/s', report.timeline.map((second) => second.unavailable)),
    `${'cut'.padEnd(13)}${cutMarker(report)}`,
    '',
    `sessions ended: ${describe(sessions.ended) || 'none'}; logged in at the end: ${sessions.withSessionAtEnd} of ${options.users} users`,
    `logged in again: ${describe(sessions.relogins) || 'none'}; logins over a live session: ${sessions.loginsOverLiveSession}`,
    `revoked_tokens: ${report.denylist.rows} rows (${describe(report.denylist.byReason)})`,
    `server log: ${describe(report.server.log.byMessage) || 'no warnings'} → ${report.server.log.file}`,
    `load generator: event loop delay p99 ${report.client.loopDelayMs.p99.toFixed(0)} ms, max ${report.client.loopDelayMs.max.toFixed(0)} ms`,
    '',
    `invariants (a request in flight within ${CUT_SLACK_MS / 1000} s of the cut's start or end counts as during the cut)`,
    ...report.invariants.map(renderCheck),
    '',
    `${report.ok ? 'PASS' : 'FAIL'} · report: ${report.files.report}`,
  ]
  return lines.join('\n')
}

export function writeReport(report: SoakReport, file: string): void {
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
}
