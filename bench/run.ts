// npm run bench: measures the stateless API against its own ceiling and against server sessions, on the
// real server (bench/server/server.mjs, the build in dist/) and real MariaDB and Redis. See bench/README.md.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { takeHeapSnapshot } from './harness/heap-snapshot.js'
import { checkBuild, startServer, type RunningServer } from './harness/server-process.js'
import { describeMachine, loadAverage } from './harness/machine.js'
import { measureScenario, RUNS_PER_SCENARIO } from './harness/measure.js'
import { parseOptions } from './harness/options.js'
import { RESULTS_DIR } from './harness/paths.js'
import { formatConsoleReport } from './report/console.js'
import type { BenchReport, ScenarioResult } from './report/results.js'
import { evaluateTargets } from './report/targets.js'
import { writeResults } from './report/write-results.js'
import { scenarios, selectScenarios } from './scenarios/scenarios.js'
import { SERVERS } from './scenarios/servers.js'
import type { ScenarioContext } from './scenarios/types.js'
import { benchDatabaseUrls, connect, dropBenchDatabase, mariadbVersion } from './setup/bench-database.js'
import { createFixtures, SESSION_COUNT, USER_COUNT, type Fixtures } from './setup/fixtures.js'
import { openRedis, redisVersion } from './setup/redis-sessions.js'
import { benchServerEnv } from './setup/server-env.js'
import { DEFAULT_SIGNING_ALGORITHM } from '../src/tokens/signing-keys.js'
import { createTokenMinter, generateSigningKey, type BenchAlgorithm, type SigningKey } from './setup/token-minter.js'

const log = (line: string) => console.log(line)

function usageOrExit<T>(read: () => T): T {
  try {
    return read()
  } catch (error) {
    console.error((error as Error).message)
    process.exit(2)
  }
}

const options = usageOrExit(() => parseOptions(process.argv.slice(2)))
const selected = usageOrExit(() => selectScenarios(scenarios(options), options.only))
const startedAt = new Date().toISOString()
const notes: string[] = []
const setup: BenchReport['setup'] = []

async function timed<T>(step: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now()
  log(`setup: ${step} ...`)
  const value = await work()
  const seconds = (performance.now() - started) / 1000
  setup.push({ step, seconds })
  log(`setup: ${step}: ${seconds.toFixed(1)} s`)
  return value
}

const staleBuild = checkBuild()
if (staleBuild) {
  log(`warning: ${staleBuild}`)
  notes.push(staleBuild)
}

const urls = benchDatabaseUrls()
const admin = await connect(urls.server)
const redis = openRedis()
await redis.connect()
const machine = describeMachine({ mariadb: await mariadbVersion(admin), redis: await redisVersion(redis) })
if (machine.loadAverage.start >= 0.5) {
  notes.push(`the machine was busy (load average ${machine.loadAverage.start} at start): numbers are skewed`)
  log(`warning: load average ${machine.loadAverage.start}; other work on the machine will skew the numbers`)
}
if (options.quick) notes.push('quick mode: short runs prove the harness works and say nothing about speed')

// One key per algorithm, made when a server first needs it: the default servers share the default's.
if (DEFAULT_SIGNING_ALGORITHM === 'HS256') throw new Error('the bench needs an asymmetric default algorithm')
const defaultAlgorithm: BenchAlgorithm = DEFAULT_SIGNING_ALGORITHM
const keys = new Map<BenchAlgorithm, SigningKey>()
const keyFor = (algorithm: BenchAlgorithm): SigningKey => {
  const known = keys.get(algorithm)
  if (known) return known
  const made = generateSigningKey(algorithm)
  keys.set(algorithm, made)
  return made
}
const { env: serverEnv, notes: envNotes } = benchServerEnv(urls.database)
// Like the signing key: one per bench run, kept here so the harness can mint refresh tokens, and out of the report.
const refreshSecret = randomBytes(32).toString('base64')
notes.push(...envNotes)

let server: RunningServer | undefined
/** Per algorithm: tokens minted with its key, users shared (one set in the database). */
const fixtureSets = new Map<BenchAlgorithm, Fixtures>()
let db: Awaited<ReturnType<typeof connect>> | undefined
let accessCacheSize = 0
const results: ScenarioResult[] = []
let exitCode = 0

let cleanedUp: Promise<void> | undefined
/** Leaves nothing behind: no server process, no Redis keys, no bench database (unless --keep-database). */
function cleanUp(): Promise<void> {
  cleanedUp ??= (async () => {
    await server?.stop()
    for (const fixtures of fixtureSets.values()) {
      await fixtures.cleanUp().catch((error: unknown) => console.error('could not delete the Redis session keys', error))
    }
    await db?.end()
    if (!options.keepDatabase) {
      await dropBenchDatabase(admin).catch((error: unknown) => console.error('could not drop the bench database', error))
    }
    await admin.end()
    redis.disconnect()
  })()
  return cleanedUp
}
process.once('SIGINT', () => {
  console.error('\ninterrupted: cleaning up')
  void cleanUp().finally(() => process.exit(130))
})

try {
  await timed(`drop and recreate database ${new URL(urls.database).pathname.slice(1)}`, () => dropBenchDatabase(admin))
  // Scenarios run in list order; their servers start one at a time, each when first needed.
  for (const serverId of [...new Set(selected.map((scenario) => scenario.server))]) {
    const spec = SERVERS[serverId]
    if (!spec) throw new Error(`no server spec ${serverId}`)
    const algorithm = spec.algorithm ?? defaultAlgorithm
    const key = keyFor(algorithm)
    server = await timed(`start the bench server (${spec.title}, migrations on start)`, () =>
      startServer(
        { ...serverEnv, ...spec.env, JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: key.privateKeyPem, REFRESH_TOKEN_SECRET: refreshSecret },
        { cpuProfileDir: options.cpuProfileDir, heapSnapshotDir: options.heapSnapshotDir },
      ),
    )
    db ??= await connect(urls.database)
    const { info } = server
    accessCacheSize = info.accessCacheSize
    const fixtures =
      fixtureSets.get(algorithm) ??
      createFixtures({
        baseUrl: () => {
          if (!server) throw new Error('no bench server is running')
          return server.baseUrl
        },
        db,
        redis,
        minter: createTokenMinter({
          ...info,
          algorithm,
          privateKeyPem: key.privateKeyPem,
          refreshSecret,
        }),
        minterAlgorithm: algorithm,
        accessCacheSize: info.accessCacheSize,
        users: fixtureSets.values().next().value?.users,
        timed,
      })
    fixtureSets.set(algorithm, fixtures)
    const context: ScenarioContext = {
      options,
      server,
      fx: fixtures,
      key,
      databaseUrl: urls.database,
    }
    for (const scenario of selected.filter((candidate) => candidate.server === serverId)) {
      log(`\n${scenario.title} [${scenario.id}]`)
      const result = await measureScenario(scenario, context, options, log)
      for (const warning of result.warnings) log(`  warning: ${warning}`)
      results.push(result)
      if (options.heapSnapshotDir) {
        log(`  heap snapshot: ${await takeHeapSnapshot(server, options.heapSnapshotDir, `after-${scenario.id}`)}`)
      }
    }
    // Requests whose client autocannon dropped at the end of the last run are still being served; stopping
    // now would close the database pool under them and log errors that have nothing to do with the bench.
    await sleep(1000)
    await server.stop()
    server = undefined
  }
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await cleanUp()
}

/** The notes of the scenarios that ran, each once (the scenarios of a group share theirs). */
function scenarioNotes(ran: ScenarioResult[]): string[] {
  const ids = new Set(ran.map((result) => result.id))
  return [...new Set(selected.filter((scenario) => ids.has(scenario.id)).flatMap((scenario) => scenario.notes ?? []))]
}

if (results.length > 0) {
  machine.loadAverage.end = loadAverage()
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    // Against a run of everything, which leaves the opt-in scenarios out: only that one writes latest.*.
    partial: selected.length < selectScenarios(scenarios(options), []).length || exitCode !== 0,
    settings: {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      runsPerScenario: RUNS_PER_SCENARIO,
      warmupSeconds: options.warmupSeconds,
      users: USER_COUNT,
      sessions: SESSION_COUNT,
      coldTokens: fixtureSets.values().next().value?.coldTokenCount ?? 0,
      denylistRows: options.denylistRows,
      expiredDenylistRows: options.pruneRows,
      accessTokenCacheSize: accessCacheSize,
    },
    serverEnv: Object.fromEntries(Object.entries(serverEnv).filter(([name]) => !name.startsWith('BENCH_'))),
    machine,
    setup,
    scenarios: results,
    targets: evaluateTargets(results),
    notes: [...notes, ...scenarioNotes(results), ...results.flatMap((result) => result.warnings)],
  }
  log(formatConsoleReport(report))
  const written = await writeResults(report, RESULTS_DIR)
  log(`\nwrote ${written.map((file) => file.slice(RESULTS_DIR.length + 1)).join(', ')} in bench/results/`)
}
// Speed is never asserted, but a scenario whose requests failed measured nothing: the run fails.
const failed = results.filter((result) => result.unexpectedStatuses)
for (const result of failed) {
  console.error(`bench: ${result.id} answered statuses it does not expect: ${JSON.stringify(result.unexpectedStatuses)}`)
}
if (failed.length > 0) exitCode = 1
process.exitCode = exitCode
// Everything this run opened is closed above. Should a dependency still hold the event loop open, say
// what it is and exit rather than hang CI; the timer is unref'd, so a clean exit never waits for it.
setTimeout(() => {
  console.error(`bench: still open after the run, exiting anyway: ${process.getActiveResourcesInfo().join(', ')}`)
  process.exit(exitCode)
}, 5000).unref()
