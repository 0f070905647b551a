import type { ScenarioResult, TargetResult } from './results.js'

type Lookup = (id: string) => ScenarioResult | undefined

interface TargetSpec {
  label: string
  unit: TargetResult['unit']
  op: '≥' | '≤' | '<'
  threshold: number
  compute(find: Lookup): { value: number; detail: string } | undefined
}

const fmt = (value: number, digits = 0) =>
  value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** a ÷ b of one statistic of two scenarios; undefined when either did not run. */
function ratio(find: Lookup, a: string, b: string, stat: 'reqPerSec' | 'p99Ms') {
  const top = find(a)?.mean[stat]
  const bottom = find(b)?.mean[stat]
  if (top === undefined || bottom === undefined || bottom === 0) return undefined
  const unit = stat === 'reqPerSec' ? '/s' : ' ms'
  const digits = stat === 'reqPerSec' ? 0 : 2
  return { value: top / bottom, detail: `${a} ${fmt(top, digits)}${unit} ÷ ${b} ${fmt(bottom, digits)}${unit}` }
}

/** The numbers the project targets (issue 8). */
export const TARGETS: TargetSpec[] = [
  {
    label: '/me warm ÷ ceiling (req/s)',
    unit: 'ratio',
    op: '≥',
    threshold: 0.7,
    compute: (find) => ratio(find, 'me-warm', 'ceiling', 'reqPerSec'),
  },
  {
    label: '/me warm ÷ MariaDB session (req/s)',
    unit: 'ratio',
    op: '≥',
    threshold: 2.5,
    compute: (find) => ratio(find, 'me-warm', 'session-mariadb', 'reqPerSec'),
  },
  {
    label: '/me warm ÷ Redis session (req/s)',
    unit: 'ratio',
    op: '≥',
    threshold: 1.2,
    compute: (find) => ratio(find, 'me-warm', 'session-redis', 'reqPerSec'),
  },
  {
    label: '/me cold ÷ bare crypto.verify rate',
    unit: 'ratio',
    op: '≥',
    threshold: 0.85,
    compute: (find) => ratio(find, 'me-cold', 'crypto-verify', 'reqPerSec'),
  },
  {
    label: 'refresh p99: full denylist ÷ empty',
    unit: 'ratio',
    op: '≤',
    threshold: 1.2,
    compute: (find) => ratio(find, 'refresh-full', 'refresh-empty', 'p99Ms'),
  },
  {
    label: '/me p99: under logins ÷ idle',
    unit: 'ratio',
    op: '≤',
    threshold: 2,
    compute: (find) => ratio(find, 'me-under-logins', 'me-warm', 'p99Ms'),
  },
  {
    label: 'max RSS under /me load',
    unit: 'MB',
    op: '<',
    threshold: 150,
    compute: (find) => {
      const measured = ['me-warm', 'me-cold', 'me-under-logins']
        .map((id) => find(id))
        .filter((result): result is ScenarioResult => result?.mean.rssPeakMb !== undefined)
      if (measured.length === 0) return undefined
      const rss = (result: ScenarioResult) => result.mean.rssPeakMb ?? 0
      const peak = measured.reduce((top, result) => (rss(result) > rss(top) ? result : top))
      return { value: rss(peak), detail: `peak during ${peak.id} (of ${measured.map((result) => result.id).join(', ')})` }
    },
  },
]

const passes = (value: number, op: TargetSpec['op'], threshold: number) =>
  op === '≥' ? value >= threshold : op === '≤' ? value <= threshold : value < threshold

export function evaluateTargets(results: ScenarioResult[]): TargetResult[] {
  const find: Lookup = (id) => results.find((result) => result.id === id)
  return TARGETS.map((spec) => {
    const computed = spec.compute(find)
    const target = `${spec.op} ${spec.unit === 'ratio' ? fmt(spec.threshold, 2) : `${fmt(spec.threshold)} MB`}`
    if (!computed) return { label: spec.label, target, unit: spec.unit, detail: 'not measured in this run' }
    const pass = passes(computed.value, spec.op, spec.threshold)
    return { label: spec.label, target, unit: spec.unit, value: computed.value, pass, detail: computed.detail }
  })
}
