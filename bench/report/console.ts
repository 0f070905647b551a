import { alongsideLine, backgroundLines, HEADER, machineLines, mark, measured, settingsLines, tableRows } from './format.js'
import type { BenchReport } from './results.js'

function alignedTable(rows: string[][]): string {
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => [...(row[column] ?? '')].length)))
  const pad = (cell: string, column: number) => {
    const gap = ' '.repeat((widths[column] ?? 0) - [...cell].length)
    return column === 0 ? cell + gap : gap + cell
  }
  const lines = rows.map((row) => row.map(pad).join('  '))
  lines.splice(1, 0, widths.map((width) => '─'.repeat(width)).join('  '))
  return lines.join('\n')
}

/** The printed report: the table, the targets, and what the numbers were taken on. */
export function formatConsoleReport(report: BenchReport): string {
  const lines = ['', alignedTable([HEADER, ...tableRows(report)]), '']
  for (const line of report.scenarios.map(alongsideLine)) if (line) lines.push(`statuses ${line}`)
  for (const line of report.scenarios.flatMap(backgroundLines)) lines.push(line)
  lines.push('', 'Targets:')
  const width = Math.max(...report.targets.map((target) => target.label.length))
  for (const target of report.targets) {
    const value = measured(target).padStart(9)
    const bound = target.target ? `(target ${target.target})` : '(information, no target)'
    lines.push(`  ${mark(target)} ${target.label.padEnd(width)}  ${value}  ${bound}  ${target.detail}`)
  }
  lines.push('', ...machineLines(report), ...settingsLines(report))
  if (report.notes.length > 0) lines.push('', 'Notes:', ...report.notes.map((note) => `  - ${note}`))
  return lines.join('\n')
}
