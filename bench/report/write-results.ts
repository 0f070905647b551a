import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { formatMarkdownReport } from './markdown.js'
import type { BenchReport } from './results.js'
import { renderChart } from './svg-chart.js'

/**
 * Writes <timestamp>.json|.md|.svg, and latest.* too when every scenario ran in full mode: a partial run
 * (--only) or a quick one (CI) must not replace the last complete picture.
 */
export async function writeResults(report: BenchReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const stamp = report.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')
  const names = report.partial || report.mode === 'quick' ? [stamp] : [stamp, 'latest']
  const written: string[] = []
  for (const name of names) {
    const files: [string, string][] = [
      [`${name}.json`, `${JSON.stringify(report, null, 2)}\n`],
      [`${name}.md`, formatMarkdownReport(report, `${name}.svg`)],
      [`${name}.svg`, renderChart(report)],
    ]
    for (const [file, content] of files) {
      await writeFile(path.join(dir, file), content)
      written.push(path.join(dir, file))
    }
  }
  return written
}
