import type { ScenarioResult, TargetResult } from './results.js'

type Lookup = (id: string) => ScenarioResult | undefined

interface TargetSpec {
  label: string
  unit: TargetResult['unit']
  /** None: the measure is printed as information, never passed or failed. */
  bound?: { op: '≥' | '≤' | '<'; threshold: number }
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

/** The numbers the project targets (issue 8, and the prune's reliability issue), and one printed as information. */
export const TARGETS: TargetSpec[] = [
  {
    label: '/me warm ÷ ceiling (req/s)',
    unit: 'ratio',
    bound: { op: '≥', threshold: 0.7 },
    compute: (find) => ratio(find, 'me-warm', 'ceiling', 'reqPerSec'),
  },
  {
    label: '/me warm ÷ MariaDB session (req/s)',
    unit: 'ratio',
    bound: { op: '≥', threshold: 2.5 },
    compute: (find) => ratio(find, 'me-warm', 'session-mariadb', 'reqPerSec'),
  },
  {
    label: '/me warm ÷ Redis session (req/s)',
    unit: 'ratio',
    bound: { op: '≥', threshold: 1.2 },
    compute: (find) => ratio(find, 'me-warm', 'session-redis', 'reqPerSec'),
  },
  {
    label: '/me cold ÷ bare crypto.verify rate',
    unit: 'ratio',
    bound: { op: '≥', threshold: 0.85 },
    compute: (find) => ratio(find, 'me-cold', 'crypto-verify', 'reqPerSec'),
  },
  {
    label: 'refresh p99: full denylist ÷ empty',
    unit: 'ratio',
    bound: { op: '≤', threshold: 1.2 },
    compute: (find) => ratio(find, 'refresh-full', 'refresh-empty', 'p99Ms'),
  },
  {
    // The database commits this many bare rotation-shaped INSERTs through the app's pool: a rotation is one
    // such commit plus two reads, two signatures and HTTP, so a fixed share of it is the honest bar.
    label: 'refresh empty ÷ commit floor (req/s)',
    unit: 'ratio',
    bound: { op: '≥', threshold: 0.4 },
    compute: (find) => ratio(find, 'refresh-empty', 'commit-floor', 'reqPerSec'),
  },
  {
    label: 'refresh p99, empty denylist',
    unit: 'ms',
    bound: { op: '<', threshold: 40 },
    compute: (find) => {
      const result = find('refresh-empty')
      const p99 = result?.mean.p99Ms
      if (p99 === undefined) return undefined
      return { value: p99, detail: `mean p99 of refresh-empty's runs at its connection count` }
    },
  },
  {
    label: '/me p99: under logins ÷ idle',
    unit: 'ratio',
    bound: { op: '≤', threshold: 2 },
    compute: (find) => ratio(find, 'me-under-logins', 'me-warm', 'p99Ms'),
  },
  {
    label: 'max RSS under /me load',
    unit: 'MB',
    bound: { op: '<', threshold: 150 },
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
  {
    // The reliability issue: pruning 1,000,000 expired rows must not hold locks long enough to matter.
    label: 'refresh p99: during prune ÷ without',
    unit: 'ratio',
    bound: { op: '≤', threshold: 2 },
    compute: (find) => {
      const measured = ratio(find, 'prune-during', 'prune-baseline', 'p99Ms')
      const runs = find('prune-during')?.background?.runs
      if (!measured || !runs) return measured
      const covered = runs.map((run) => `${Math.floor(run.covered * 100)}%`).join(', ')
      const rows = Math.max(...runs.map((run) => run.counts.rowsDeleted ?? 0))
      return { ...measured, detail: `${measured.detail}; prune of ${fmt(rows)} rows covered: ${covered}` }
    },
  },
  {
    // No target: why the API sets its security headers once rather than through @fastify/helmet.
    label: 'headers per request (@fastify/helmet) ÷ once',
    unit: 'ratio',
    compute: (find) => ratio(find, 'ceiling-fastify-helmet', 'ceiling', 'reqPerSec'),
  },
  {
    // No target: on a machine whose load generator shares the cores, this is information (see the notes).
    label: 'scale-out: 2 workers ÷ 1 worker',
    unit: 'ratio',
    compute: (find) => ratio(find, 'cluster-2', 'cluster-1', 'reqPerSec'),
  },
]

const passes = (value: number, { op, threshold }: NonNullable<TargetSpec['bound']>) =>
  op === '≥' ? value >= threshold : op === '≤' ? value <= threshold : value < threshold

const describeBound = (unit: TargetResult['unit'], bound: TargetSpec['bound']) =>
  bound ? `${bound.op} ${unit === 'ratio' ? fmt(bound.threshold, 2) : `${fmt(bound.threshold)} ${unit}`}` : ''

export function evaluateTargets(results: ScenarioResult[]): TargetResult[] {
  const find: Lookup = (id) => results.find((result) => result.id === id)
  return TARGETS.map((spec) => {
    const computed = spec.compute(find)
    const target = describeBound(spec.unit, spec.bound)
    if (!computed) return { label: spec.label, target, unit: spec.unit, detail: 'not measured in this run' }
    const pass = spec.bound ? passes(computed.value, spec.bound) : undefined
    return { label: spec.label, target, unit: spec.unit, value: computed.value, pass, detail: computed.detail }
  })
}
