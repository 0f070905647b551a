import {
  alongsideLine,
  backgroundLines,
  HEADER,
  machineLines,
  mark,
  measured,
  num,
  settingsLines,
  tableRows,
  targetText,
} from './format.js'
import type { BenchReport } from './results.js'

const tableLine = (cells: string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`

export function formatMarkdownReport(report: BenchReport, chartFile?: string): string {
  const lines = [
    `# Benchmark results, ${report.startedAt}`,
    '',
    report.mode === 'quick'
      ? '> **Quick mode**: short runs that prove the harness works. These numbers say nothing about speed.'
      : '> Full run. Trust it only if the load average below stayed low: other work on the machine skews every number.',
    '',
    tableLine(HEADER),
    tableLine(HEADER.map((_, column) => (column === 0 ? '---' : '---:'))),
    ...tableRows(report).map(tableLine),
    '',
  ]
  for (const line of report.scenarios.map(alongsideLine)) if (line) lines.push(`Statuses ${line}.`, '')
  for (const line of report.scenarios.flatMap(backgroundLines)) lines.push(`- ${line}`)
  if (report.scenarios.some((result) => result.background)) lines.push('')
  if (chartFile) lines.push(`![req/s and p99 per scenario](${chartFile})`, '')
  lines.push(
    '## Targets',
    '',
    tableLine(['', 'measure', 'measured', 'target', 'from']),
    tableLine(['---', '---', '---:', '---', '---']),
    ...report.targets.map((t) => tableLine([mark(t), t.label, measured(t), targetText(t), t.detail])),
    '',
    '## Machine and settings',
    '',
    ...[...machineLines(report), ...settingsLines(report)].map((line) => `- ${line}`),
    '',
    '## Setup',
    '',
    ...report.setup.map((step) => `- ${step.step}: ${num(step.seconds, 1)} s`),
    '',
  )
  if (report.notes.length > 0) lines.push('## Notes', '', ...report.notes.map((note) => `- ${note}`), '')
  return lines.join('\n')
}
