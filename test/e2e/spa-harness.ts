// What the SPA end-to-end test stands on: a fresh database, the built API as a child process, the SPA's
// static servers, and Debian's Chromium driven by playwright-core. Nothing here is shared with the unit suite.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { createConnection, type Connection } from 'mariadb'
import { chromium, type Browser, type Page, type Request } from 'playwright-core'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOTS = `${ROOT}test-results/spa/`
const SERVER_URL = new URL(process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306')

// No GPU, no sandbox (containers), and nothing that phones home or updates itself during a test.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

export function checkPrerequisites(): string[] {
  const missing: string[] = []
  if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`)
  if (!existsSync(`${ROOT}dist/server.js`)) missing.push('the built API at dist/server.js (npm run build)')
  return missing
}

export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export function databaseUrl(name: string): string {
  return new URL(`/${name}`, SERVER_URL).toString()
}

async function onDatabaseServer<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
  const { hostname, port, username, password } = SERVER_URL
  const connection = await createConnection({ host: hostname, port: Number(port || 3306), user: username || 'root', password })
  try {
    return await work(connection)
  } finally {
    await connection.end()
  }
}

export function dropDatabase(name: string): Promise<void> {
  return onDatabaseServer(async (connection) => {
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``)
  })
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A run that crashed before its teardown leaves its jwt_e2e_<pid> database behind: drop those whose process is gone. */
export async function dropAbandonedDatabases(prefix: string): Promise<string[]> {
  const names = await onDatabaseServer((connection) =>
    connection.query<{ name: string }[]>('SELECT schema_name AS name FROM information_schema.schemata'),
  )
  const pidOf = (name: string) => {
    const suffix = name.slice(prefix.length)
    return name.startsWith(prefix) && /^\d+$/.test(suffix) ? Number(suffix) : 0
  }
  const abandoned = names.map(({ name }) => name).filter((name) => pidOf(name) > 0 && !isRunning(pidOf(name)))
  for (const name of abandoned) await dropDatabase(name)
  return abandoned
}

export interface ApiProcess {
  url: string
  /** What the server printed, for the failure message when it does not come up. */
  output(): string
  stop(): Promise<void>
}

async function waitUntilReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}:\n${output()}`)
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`the API was not ready within 30 s:\n${output()}`)
}

/** Starts `node dist/server.js`; NODE_ENV=development makes it create and migrate its database first. */
export async function startApi(port: number, env: Record<string, string>): Promise<ApiProcess> {
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
  })
  let printed = ''
  child.stdout?.on('data', (chunk: Buffer) => (printed += chunk))
  child.stderr?.on('data', (chunk: Buffer) => (printed += chunk))
  // Never leave a server behind, even when the test process dies on an exception.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stopping = false
  // Every later failure would only say "fetch failed" or time out: say why here.
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`# the API exited during the test (code ${code}, signal ${signal}):\n${printed}`)
  })
  await waitUntilReady(url, child, () => printed)
  return {
    url,
    output: () => printed,
    async stop() {
      stopping = true
      process.off('exit', killOnExit)
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

/**
 * The operator's user CLI (`node dist/deploy/user-cli.js`), as from a shell: `input` is piped to its standard
 * input (the password, for --password-stdin). Resolves to what it printed; rejects when it exits non-zero.
 */
export async function runUserCli(args: string[], env: Record<string, string>, input = ''): Promise<string> {
  const child = spawn(process.execPath, ['dist/deploy/user-cli.js', ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'warn', ...env },
  })
  let printed = ''
  child.stdout?.on('data', (chunk: Buffer) => (printed += chunk))
  child.stderr?.on('data', (chunk: Buffer) => (printed += chunk))
  child.stdin?.end(input)
  // 'close', not 'exit': by then all it printed has been read.
  const [code] = (await once(child, 'close')) as [number | null]
  if (code !== 0) throw new Error(`user-cli ${args.join(' ')} exited with ${code}:\n${printed}`)
  return printed
}

/** Playwright gives every launch a fresh temporary profile and deletes it on close. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}

/** Full-page screenshots numbered in the order they are taken, so the folder reads as the story. */
export async function screenshotter() {
  await rm(SCREENSHOTS, { recursive: true, force: true })
  await mkdir(SCREENSHOTS, { recursive: true })
  let taken = 0
  return async (page: Page, name: string) => {
    taken += 1
    const path = `${SCREENSHOTS}${String(taken).padStart(2, '0')}-${name}.png`
    // A background tab takes seconds to paint a full-page shot; the front one, milliseconds.
    await page.bringToFront()
    await page.screenshot({ path, fullPage: true })
    return path
  }
}

export interface ApiCall {
  method: string
  path: string
  /** When the page sent it (Date.now()). */
  sentAt: number
  request: Request
}

/**
 * Every request the page sent to the API, in the order it sent them (CORS preflights excluded). Recorded
 * when sent, not when answered: Playwright may report an answer after the page has already acted on it.
 */
export function recordApiCalls(page: Page, apiUrl: string): ApiCall[] {
  const calls: ApiCall[] = []
  page.on('request', (request) => {
    const method = request.method()
    if (!request.url().startsWith(apiUrl) || method === 'OPTIONS') return
    calls.push({ method, path: new URL(request.url()).pathname, sentAt: Date.now(), request })
  })
  return calls
}

export const isRefresh = (call: ApiCall) => call.method === 'POST' && call.path === '/auth/refresh'

/** The reads of "Where you're signed in" and "Account activity", which a page turning logged in makes. */
export const isDeviceListRead = (call: ApiCall) => call.method === 'GET' && (call.path === '/me/sessions' || call.path === '/me/events')

/** 'POST /auth/refresh 200' per call, once answered; 'failed' when no answer reached the page. */
export function summary(calls: ApiCall[]): Promise<string[]> {
  return Promise.all(
    calls.map(async (call) => `${call.method} ${call.path} ${(await call.request.response())?.status() ?? 'failed'}`),
  )
}

export async function problemCodeOf(call: ApiCall | undefined): Promise<string | undefined> {
  const response = await call?.request.response()
  if (!response) return undefined
  const body = (await response.json()) as { code?: string }
  return body.code
}
