import { readFileSync } from 'node:fs'

/** Resident set size of a process in MB, from /proc (Linux only); undefined once the process is gone. */
export function residentMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** Samples a process's RSS on an interval during a run; the peak is what a memory limit would meet. */
export function sampleRss(pid: number, intervalMs = 200) {
  let peak = residentMb(pid) ?? 0
  const timer = setInterval(() => {
    peak = Math.max(peak, residentMb(pid) ?? 0)
  }, intervalMs)
  return {
    stop(): { peakMb: number; endMb: number } {
      clearInterval(timer)
      const endMb = residentMb(pid) ?? 0
      return { peakMb: Math.max(peak, endMb), endMb }
    },
  }
}
