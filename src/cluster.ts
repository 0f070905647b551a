// One worker per core on one port (node:cluster): `npm run start:cluster`. The primary validates the
// configuration and runs migrations once, then forks workers that each run server.ts, restarts a worker
// that dies, and on SIGTERM/SIGINT stops them all gracefully before exiting.
import cluster, { type Worker } from 'node:cluster'
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { loadConfigOrExit, migrateInBackgroundUntilDone } from './startup.js'

if (cluster.isPrimary) {
  const config = loadConfigOrExit()
  const size = config.webConcurrency ?? availableParallelism()
  if (config.database.migrateOnStart) await migrateInBackgroundUntilDone(config, (line) => console.log(line))

  const workerEnv: NodeJS.ProcessEnv = { MIGRATE_ON_START: 'false' }
  if (config.jwt.keys.ephemeral) {
    // Development without a key: every worker must sign and verify with the same one.
    const { algorithm, key, kid } = config.jwt.keys.signing
    if (algorithm === 'HS256') workerEnv.JWT_SECRET = randomBytes(32).toString('base64')
    else Object.assign(workerEnv, { JWT_PRIVATE_KEY: key.toString(), JWT_KEY_ID: kid })
    console.warn('No signing key configured: the workers share one generated for this run only.')
  }
  if (config.jwt.refreshKeys.ephemeral) workerEnv.REFRESH_TOKEN_SECRET = randomBytes(32).toString('base64')
  if (!config.limits.redisUrl) {
    console.warn('REDIS_URL is not set: each worker counts failed logins and request budgets on its own.')
  }

  let stopping = false
  const fork = (): Worker => cluster.fork(workerEnv)
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`)
    // A worker that dies at once (bad config, port taken) would otherwise be restarted in a tight loop.
    setTimeout(fork, 1000)
  })
  for (let i = 0; i < size; i++) fork()
  console.log(`primary ${process.pid}: ${size} workers on ${config.host}:${config.port}`)

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined)
    let running = workers.length
    if (running === 0) process.exit(0)
    const killTimer = setTimeout(() => process.exit(1), 15_000)
    for (const worker of workers) {
      worker.on('exit', () => {
        if (--running === 0) {
          clearTimeout(killTimer)
          process.exit(0)
        }
      })
      worker.process.kill(signal)
    }
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGTERM'))
} else {
  // A worker whose primary is gone (killed, crashed) would otherwise serve on unsupervised: stop it gracefully.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
  await import('./server.js')
}
