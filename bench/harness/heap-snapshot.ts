import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const snapshots = (dir: string) => new Set(readdirSync(dir).filter((name) => name.endsWith('.heapsnapshot')))

/**
 * Asks the server (started with --heapsnapshot-signal=SIGUSR2) for a heap snapshot and waits until its
 * file stops growing. The process's /proc smaps and its process.memoryUsage() with V8's heap spaces
 * (bench/server/serve.mjs, /bench/memory), read just before, go next to it under the scenario's name:
 * what of the RSS is the V8 heap and what is not. Writing a snapshot grows the process,
 * so the RSS of the scenarios after it is not comparable: use it with --only.
 */
export async function takeHeapSnapshot(server: { pid: number; baseUrl: string }, dir: string, label: string, timeoutMs = 120_000): Promise<string> {
  const { pid } = server
  mkdirSync(dir, { recursive: true })
  const before = snapshots(dir)
  const memory = await (await fetch(`${server.baseUrl}/bench/memory`)).text()
  writeFileSync(path.join(dir, `${label}.memory.json`), memory)
  // procfs reports a size of 0, so read it rather than copy it.
  writeFileSync(path.join(dir, `${label}.smaps.txt`), readFileSync(`/proc/${pid}/smaps`))
  process.kill(pid, 'SIGUSR2')
  const deadline = Date.now() + timeoutMs
  let size = -1
  while (Date.now() < deadline) {
    await sleep(500)
    const created = [...snapshots(dir)].find((name) => !before.has(name))
    if (!created) continue
    const file = path.join(dir, created)
    const now = statSync(file).size
    if (now > 0 && now === size) return file
    size = now
  }
  throw new Error(`no heap snapshot from ${pid} within ${timeoutMs} ms`)
}
