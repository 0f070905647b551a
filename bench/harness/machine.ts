import os from 'node:os'

export interface Machine {
  cpuModel: string
  cores: number
  memoryGb: number
  os: string
  node: string
  mariadb: string
  redis: string
  /** 1-minute load average when the bench started and ended: above ~0.5 the numbers are not to be trusted. */
  loadAverage: { start: number; end?: number }
}

export function describeMachine(versions: { mariadb: string; redis: string }): Machine {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    mariadb: versions.mariadb,
    redis: versions.redis,
    loadAverage: { start: loadAverage() },
  }
}

export const loadAverage = () => Math.round((os.loadavg()[0] ?? 0) * 100) / 100
