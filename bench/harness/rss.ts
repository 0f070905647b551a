import { readdirSync, readFileSync } from 'node:fs'

/** Resident set size of a process in MB, from /proc (Linux only); undefined once the process is gone. */
export function residentMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    return Number.isInteger(ppid) ? ppid : undefined
  } catch {
    return undefined
  }
}

/**
 * The process and all its descendants (a cluster primary and its workers). Read from every
 * /proc/<pid>/stat: /proc/<pid>/task/<tid>/children needs a kernel built with CONFIG_PROC_CHILDREN, and
 * `ps --ppid` would start a process per sample.
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    const parent = parentOf(pid)
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), pid])
  }
  const tree = [root]
  for (let next = 0; next < tree.length; next++) tree.push(...(children.get(tree[next] as number) ?? []))
  return tree
}

const treeMb = (pids: number[]) => pids.reduce((sum, pid) => sum + (residentMb(pid) ?? 0), 0)

/**
 * Samples the RSS of a process and its descendants, summed, on an interval during a run; the peak is what
 * a memory limit would meet. The tree is read once, at the start: the servers under test start all their
 * processes before they report ready, and the bench cluster stops rather than replace a worker.
 */
export function sampleRss(pid: number, intervalMs = 200) {
  const pids = processTree(pid)
  let peak = treeMb(pids)
  const timer = setInterval(() => {
    peak = Math.max(peak, treeMb(pids))
  }, intervalMs)
  return {
    stop(): { peakMb: number; endMb: number; processes: number } {
      clearInterval(timer)
      const endMb = treeMb(pids)
      return { peakMb: Math.max(peak, endMb), endMb, processes: pids.length }
    },
  }
}
