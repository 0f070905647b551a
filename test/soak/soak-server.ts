import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVER_ENTRY = path.join(PROJECT_ROOT, 'dist', 'server.js')
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000

export interface ServerSettings {
  databaseUrl: string
  graceSeconds: number
  /** Where the server sends mail; production requires one. */
  smtpUrl?: string
  logFile: string
  /** The server's working directory: one without a .env, so only the variables set here reach it. */
  cwd: string
}

export interface StopResult {
  exitCode: number | null
  signal: string | null
  ms: number
}

export interface SoakServer {
  baseUrl: string
  pid: number
  /** Set when the server exited on its own before stop(). */
  crashed(): string | undefined
  stop(): Promise<StopResult>
}

/** The newest hand-written source; src/generated is rewritten by every build and says nothing. */
function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.parentPath.includes(`${path.sep}generated`)) continue
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** The soak runs the build, as production does; returns a warning when src/ is newer than it. */
export function checkBuild(): string | undefined {
  if (!existsSync(SERVER_ENTRY)) throw new Error('dist/server.js is missing: run `npm run build` first (the soak runs the build)')
  if (newestSource(path.join(PROJECT_ROOT, 'src')) > statSync(SERVER_ENTRY).mtimeMs) {
    return 'warning: src/ has changed since the last build; run `npm run build` to soak the current code'
  }
  return undefined
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

// A key of the default algorithm (RS256), as a production deployment would configure.
const signingKeyPem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

/** Production settings, except limits high enough that the load test measures the API, not its brakes. */
function serverEnv(settings: ServerSettings, port: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATABASE_URL: settings.databaseUrl,
    MIGRATE_ON_START: 'true',
    JWT_PRIVATE_KEY: signingKeyPem(),
    SMTP_URL: settings.smtpUrl ?? 'smtp://127.0.0.1:2525',
    APP_URL: 'https://app.example.com',
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64'),
    BCRYPT_COST: '10',
    REFRESH_REUSE_GRACE_SECONDS: String(settings.graceSeconds),
    AUTH_REQUESTS_PER_MINUTE: '1000000',
    LOGIN_FAILURES_PER_ACCOUNT: '1000000',
    LOGIN_FAILURES_PER_IP: '1000000',
  }
}

async function waitUntilReady(baseUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before it was ready`)
    try {
      if ((await fetch(`${baseUrl}/health/ready`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s`)
}

/** Starts `node dist/server.js` as its own process, its output going to `logFile`. */
export async function startServer(settings: ServerSettings): Promise<SoakServer> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const log = openSync(settings.logFile, 'a')
  const child = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: settings.cwd,
    env: serverEnv(settings, port),
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  if (child.pid === undefined) throw new Error('could not start the server')
  let stopping = false
  let crash: string | undefined
  child.once('exit', (code, signal) => {
    if (!stopping) crash = `the server exited during the run (code ${code}, signal ${signal}); see ${settings.logFile}`
  })
  try {
    await waitUntilReady(baseUrl, child)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return {
    baseUrl,
    pid: child.pid,
    crashed: () => crash,
    async stop() {
      const started = Date.now()
      if (child.exitCode !== null || child.signalCode !== null) {
        return { exitCode: child.exitCode, signal: child.signalCode, ms: 0 }
      }
      stopping = true
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      const [exitCode, signal] = await exited
      clearTimeout(timer)
      return { exitCode, signal, ms: Date.now() - started }
    },
  }
}

export interface LogSummary {
  /** Lines at warn level or above, by level name, message and problem code. */
  byMessage: Record<string, number>
  /** Lines below warn, or not JSON (the migration notes at start-up). */
  other: number
}

const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' }

interface LogLine {
  level?: unknown
  msg?: unknown
  code?: unknown
}

function parseLogLine(line: string): LogLine | undefined {
  try {
    return JSON.parse(line) as LogLine
  } catch {
    return undefined
  }
}

/** Groups the server's warnings and errors (pino: 40 warn, 50 error, 60 fatal) by message and code. */
export function summarizeLog(logFile: string): LogSummary {
  const summary: LogSummary = { byMessage: {}, other: 0 }
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.trim()) continue
    const entry = parseLogLine(line)
    const level = typeof entry?.level === 'number' ? LEVELS[entry.level] : undefined
    if (!entry || !level) {
      summary.other++
      continue
    }
    const key = `${level} "${String(entry.msg)}"${typeof entry.code === 'string' ? ` ${entry.code}` : ''}`
    summary.byMessage[key] = (summary.byMessage[key] ?? 0) + 1
  }
  return summary
}
