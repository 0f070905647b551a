// `npm run soak`: the built server under a mixed load, its database connection cut in the middle, then
// invariants over every response and over the denylist. See test/soak/README.md.
// usage: node --import tsx test/soak/soak.ts [--quick] [--duration 60] [--cut-after 25] [--cut-for 10]
import { createWriteStream, mkdirSync } from 'node:fs'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createApiClient, type ApiClient } from './api-client.js'
import { checkInvariants } from './invariants.js'
import { parseOptions, type SoakOptions } from './options.js'
import type { ResponseRecord, RunWindow } from './records.js'
import { denylistByReason, renderReport, summarizeRoutes, timelineOf, writeReport, type SoakReport } from './report.js'
import { createUsers, type SimUser } from './simulated-users.js'
import { createSoakDatabase, type SoakDatabase } from './soak-database.js'
import { checkBuild, PROJECT_ROOT, startServer, summarizeLog, type SoakServer } from './soak-server.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import { TestSmtpServer } from '../helpers/smtp.js'
import { checkMail, runMailTraffic, settledOutbox } from './mail-traffic.js'
import { runWorkload, type SessionCounters } from './workload.js'

const RESULTS_DIR = path.join(PROJECT_ROOT, 'test-results', 'soak')
const fromRoot = (file: string) => path.relative(PROJECT_ROOT, file)

interface RunFiles {
  report: string
  serverLog: string
  records?: string
}

function runFiles(options: SoakOptions): RunFiles {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const file = (suffix: string) => path.join(RESULTS_DIR, `${stamp}${suffix}`)
  return { report: file('.json'), serverLog: file('.server.log'), records: options.records ? file('.records.ndjson') : undefined }
}

/** Cuts the proxy `cutAfter` into the run and restores it `cutFor` later, noting the real times. */
function scheduleCut(proxy: TcpProxy, options: SoakOptions, window: RunWindow): () => void {
  let restore: NodeJS.Timeout | undefined
  const cut = setTimeout(() => {
    window.cutAt = Date.now()
    proxy.cut()
    restore = setTimeout(() => {
      window.restoredAt = Date.now()
      proxy.restore()
    }, options.cutForSeconds * 1000)
  }, options.cutAfterSeconds * 1000)
  return () => {
    clearTimeout(cut)
    clearTimeout(restore)
    if (!proxy.up) proxy.restore()
  }
}

interface Run {
  api: ApiClient
  users: SimUser[]
  proxy: TcpProxy
  options: SoakOptions
  graceSeconds: number
  files: RunFiles
  signal: AbortSignal
}

interface Measured {
  window: RunWindow
  records: ResponseRecord[]
  sessions: SessionCounters
  /** The load generator's own event-loop delay: if it is high, the client, not the server, set the pace. */
  clientLoopDelayMs: { p99: number; max: number }
}

async function measure(run: Run): Promise<Measured> {
  const { options } = run
  const records: ResponseRecord[] = []
  const recordsOut = run.files.records ? createWriteStream(run.files.records) : undefined
  const startedAt = Date.now()
  const window: RunWindow = {
    startedAt,
    endedAt: startedAt,
    // The planned times, replaced by the real ones when the timers fire.
    cutAt: startedAt + options.cutAfterSeconds * 1000,
    restoredAt: startedAt + (options.cutAfterSeconds + options.cutForSeconds) * 1000,
  }
  const cancelCut = scheduleCut(run.proxy, options, window)
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  try {
    const settings = {
      workers: options.workers,
      deadline: startedAt + options.durationSeconds * 1000,
      graceMs: run.graceSeconds * 1000,
      loginConcurrency: options.loginConcurrency,
      raceShare: options.raceShare,
      replayShare: options.replayShare,
      signal: run.signal,
    }
    const sessions = await runWorkload(run.api, run.users, settings, (record) => {
      records.push(record)
      recordsOut?.write(`${JSON.stringify(record)}\n`)
    })
    window.endedAt = Date.now()
    if (run.signal.aborted) throw new Error('interrupted')
    const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e5) / 10
    return { window, records, sessions, clientLoopDelayMs: { p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) } }
  } finally {
    loopDelay.disable()
    cancelCut()
    recordsOut?.end()
  }
}

async function soak(options: SoakOptions, files: RunFiles, database: SoakDatabase, proxy: TcpProxy, signal: AbortSignal): Promise<SoakReport> {
  // The server and the checks must agree on the window; both read it from here.
  const graceSeconds = Number(process.env.REFRESH_REUSE_GRACE_SECONDS ?? 10)
  const smtp = new TestSmtpServer()
  await smtp.start()
  let server: SoakServer | undefined = await startServer({
    databaseUrl: database.urlVia(proxy.port),
    smtpUrl: smtp.url,
    graceSeconds,
    logFile: files.serverLog,
    cwd: RESULTS_DIR,
  })
  // Two per worker: a race sends two refreshes at once.
  const api = createApiClient(server.baseUrl, options.workers * 2)
  try {
    console.log(`server ${server.pid} ready at ${server.baseUrl}; registering and logging in ${options.users} users`)
    const { users, summary: setup } = await createUsers(api, options.users, options.loginConcurrency, signal)
    const setupSessions = users.flatMap((user) => (user.session ? [{ jti: user.session.jti, fid: user.session.fid }] : []))
    console.log(`setup took ${(setup.ms / 1000).toFixed(1)} s; running ${options.durationSeconds} s of load`)
    const [measured, mailTraffic] = await Promise.all([
      measure({ api, users, proxy, options, graceSeconds, files, signal }),
      runMailTraffic(api, users, smtp, options, signal),
    ])
    const crash = server.crashed()
    if (crash) throw new Error(crash)
    const outbox = await settledOutbox(() => database.mailOutbox())

    const { window, records } = measured
    const denylist = await database.denylist()
    const serverExit = await server.stop()
    server = undefined
    const invariants = [
      ...checkInvariants({ records, window, graceMs: graceSeconds * 1000, setupSessions, denylist, serverExit }),
      ...checkMail(mailTraffic, outbox, smtp),
    ]
    return {
      startedAt: new Date(window.startedAt).toISOString(),
      ok: invariants.every((check) => check.ok),
      options,
      graceSeconds,
      cut: {
        atMs: window.cutAt - window.startedAt,
        restoredAtMs: window.restoredAt - window.startedAt,
        durationMs: window.restoredAt - window.cutAt,
      },
      durationMs: window.endedAt - window.startedAt,
      setup,
      routes: summarizeRoutes(records, window),
      timeline: timelineOf(records, window),
      sessions: measured.sessions,
      denylist: { rows: denylist.length, byReason: denylistByReason(denylist) },
      server: { exit: serverExit, log: { ...summarizeLog(files.serverLog), file: fromRoot(files.serverLog) } },
      client: { loopDelayMs: measured.clientLoopDelayMs },
      invariants,
      files: { report: fromRoot(files.report), records: files.records && fromRoot(files.records) },
    }
  } finally {
    await api.close()
    if (server) await server.stop()
    await smtp.stop()
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const stale = checkBuild()
  if (stale) console.warn(stale)
  const files = runFiles(options)
  // Ctrl-C stops the load early but still stops the server and drops the database.
  const interrupted = new AbortController()
  process.once('SIGINT', () => interrupted.abort())
  const database = await createSoakDatabase(`jwt_soak_${process.pid}`)
  const proxy = new TcpProxy(database.host, database.port)
  try {
    await proxy.listen()
    const report = await soak(options, files, database, proxy, interrupted.signal)
    writeReport(report, files.report)
    console.log(`\n${renderReport(report)}`)
    return report.ok ? 0 : 1
  } finally {
    await proxy.close()
    await database.drop()
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(`soak failed: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  },
)
