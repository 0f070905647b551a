import { num } from './format.js'
import type { BenchReport } from './results.js'

// Hand-made SVG, no chart library: two bar panels sharing one row per scenario.
const MIN_LABEL_WIDTH = 330
// An SVG has no text layout: a generous average glyph width at 12px keeps the longest title inside.
const LABEL_CHAR_WIDTH = 7
const PANEL_WIDTH = 280
const PANEL_GAP = 40
const ROW_HEIGHT = 30
const BAR_HEIGHT = 18
const TOP = 70
const VALUE_ROOM = 80

const COLORS: Record<string, string> = {
  ceiling: '#8c8c8c',
  me: '#2f6fdf',
  cold: '#5b9bf0',
  sessions: '#d9822b',
  refresh: '#3a9d5d',
  logins: '#9a4fd1',
  prune: '#2a7a8c',
  cluster: '#c2417a',
}

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

interface Bar {
  value: number | undefined
  label: string
}

function panel(x: number, title: string, bars: Bar[], colors: string[]): string[] {
  const max = Math.max(...bars.map((bar) => bar.value ?? 0), 1)
  const width = PANEL_WIDTH - VALUE_ROOM
  const parts = [`<text x="${x}" y="${TOP - 14}" class="head">${escape(title)}</text>`]
  bars.forEach((bar, index) => {
    const y = TOP + index * ROW_HEIGHT
    if (bar.value === undefined) {
      parts.push(`<text x="${x}" y="${y + 13}" class="muted">–</text>`)
      return
    }
    const length = Math.max(1, (bar.value / max) * width)
    parts.push(
      `<rect x="${x}" y="${y}" width="${length.toFixed(1)}" height="${BAR_HEIGHT}" rx="2" fill="${colors[index]}"/>`,
      `<text x="${(x + length + 6).toFixed(1)}" y="${y + 13}">${escape(bar.label)}</text>`,
    )
  })
  return parts
}

/** req/s (left) and p99 latency (right) per scenario, as a standalone SVG document. */
export function renderChart(report: BenchReport): string {
  const results = report.scenarios
  const longest = Math.max(...results.map((result) => result.title.length))
  const labelWidth = Math.max(MIN_LABEL_WIDTH, 24 + longest * LABEL_CHAR_WIDTH)
  const height = TOP + results.length * ROW_HEIGHT + 50
  const width = labelWidth + 2 * PANEL_WIDTH + PANEL_GAP + 20
  const colors = results.map((result) => COLORS[result.group] ?? '#555')
  const rightX = labelWidth + PANEL_WIDTH + PANEL_GAP

  const labels = results.map((result, index) => {
    const y = TOP + index * ROW_HEIGHT + 13
    return `<text x="${labelWidth - 12}" y="${y}" text-anchor="end">${escape(result.title)}</text>`
  })
  const rates = panel(
    labelWidth,
    'mean req/s (higher is better)',
    results.map((result) => ({ value: result.mean.reqPerSec, label: num(result.mean.reqPerSec) })),
    colors,
  )
  const p99s = panel(
    rightX,
    'p99 latency, ms (lower is better)',
    results.map((result) => ({ value: result.mean.p99Ms, label: num(result.mean.p99Ms, 2) })),
    colors,
  )
  const footer =
    `${report.mode === 'quick' ? 'QUICK MODE, not a measurement. ' : ''}${report.startedAt} · ${report.machine.cpuModel}, ` +
    `${report.machine.cores} cores · Node.js ${report.machine.node} · ${report.settings.connections} connections, ` +
    `${report.settings.durationSeconds} s × ${report.settings.runsPerScenario} runs`

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"` +
      ' font-family="system-ui, sans-serif" font-size="12">',
    '<style>text { fill: #222 } .head { font-weight: 600 } .muted { fill: #999 }' +
      ' .title { font-size: 15px; font-weight: 600 }</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="24" class="title">jwt-auth-api benchmark: stateless /me against its ceiling and server sessions</text>`,
    ...labels,
    ...rates,
    ...p99s,
    `<text x="12" y="${height - 16}" class="muted">${escape(footer)}</text>`,
    '</svg>',
    '',
  ].join('\n')
}
