// The server under test: the API exactly as `npm start` runs it (the build in dist/, configured from the
// environment), plus the bench-only session routes. With BENCH_WORKERS=n it runs the way
// `npm run start:cluster` does (src/cluster.ts): a primary that migrates once and forks n workers on one
// port (node:cluster), each building the app. Plain JavaScript on purpose: running it under tsx would add
// the loader's ~45 MB to the RSS being measured. Started by bench/run.ts; reports readiness over the IPC
// channel. Build first: npm run build.
import cluster from 'node:cluster'
import { ConfigError, loadConfig } from '../../dist/config.js'
import { migrateDatabase } from '../../dist/deploy/migrate.js'

function loadConfigOrExit() {
  try {
    return loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
}

process.on('unhandledRejection', (reason) => console.error('unhandled rejection in the bench server', reason))

const workers = Number(process.env.BENCH_WORKERS ?? 0)
const config = loadConfigOrExit()
// Same start-up step as src/server.ts and src/cluster.ts: a fresh bench database gets its schema here,
// once. Workers are forked with MIGRATE_ON_START=false.
if (config.database.migrateOnStart) await migrateDatabase(config.database.url, { createDatabase: true })

// Imported on demand, as src/cluster.ts does: the primary never loads the app, so its RSS is what a real
// primary costs.
if (workers > 0 && cluster.isPrimary) {
  const { runPrimary } = await import('./cluster-primary.mjs')
  process.send?.({ type: 'ready', ...(await runPrimary(workers)), workers })
} else {
  const { serve } = await import('./serve.mjs')
  // In a worker this goes to the primary, which reports for the whole cluster.
  process.send?.({ type: 'ready', ...(await serve(config)), workers: 0 })
}
