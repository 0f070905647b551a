// The cluster primary of the bench server, as src/cluster.ts runs it: fork the workers (each runs
// server.mjs and serves), stop them all on SIGTERM. Unlike src/cluster.ts it does not replace a worker that
// dies: a cluster that lost a worker mid-run would report numbers of fewer workers, so it stops instead.
import cluster from 'node:cluster'

const STOP_TIMEOUT_MS = 10_000

const liveWorkers = () => Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined)

let stopping = false

/** Signals every worker and exits once they have all closed (or after the timeout, with 1). */
function stopAll(exitCode) {
  if (stopping) return
  stopping = true
  const workers = liveWorkers()
  if (workers.length === 0) process.exit(exitCode)
  setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref()
  let running = workers.length
  for (const worker of workers) {
    worker.once('exit', () => {
      if (--running === 0) process.exit(exitCode)
    })
    worker.process.kill('SIGTERM')
  }
}

/**
 * Forks `count` workers and resolves, once every one of them listens, with what the first reported (they
 * share the port, the key and the settings).
 * @param {number} count
 */
export function runPrimary(count) {
  process.once('SIGTERM', () => stopAll(0))
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    console.error(`bench cluster: worker ${worker.process.pid} exited (${signal ?? code}); stopping the cluster`)
    stopAll(1)
  })
  return new Promise((resolve) => {
    const ready = []
    for (let i = 0; i < count; i++) {
      // Only the primary migrates, as in src/cluster.ts; the signing key reaches the workers in the
      // environment they inherit, so all of them sign and verify with the same one.
      const worker = cluster.fork({ MIGRATE_ON_START: 'false' })
      worker.on('message', (message) => {
        if (message?.type !== 'ready') return
        ready.push(message)
        if (ready.length === count) resolve(ready[0])
      })
    }
  })
}
