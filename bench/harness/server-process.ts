import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { PROJECT_ROOT } from './paths.js'

/** What the bench server reports once it listens (bench/server/server.mjs). */
export interface ServerInfo {
  port: number
  kid: string
  /** The kid of REFRESH_TOKEN_SECRET, which refresh tokens are MACed with. */
  refreshKid: string
  issuer: string
  audience: string
  /** Access-token cache entries, per process. */
  accessCacheSize: number
  /** DB_POOL_SIZE: connections in the app's MariaDB pool, per process. */
  dbPoolSize: number
  /** node:cluster workers behind the primary; 0 for a single process. */
  workers: number
}

export interface RunningServer {
  /** The process started; a cluster's primary. RSS is summed over it and its descendants. */
  pid: number
  baseUrl: string
  info: ServerInfo
  stop(): Promise<void>
}

const SERVER_ENTRY = path.join(PROJECT_ROOT, 'bench', 'server', 'server.mjs')
const READY_TIMEOUT_MS = 120_000

function newestMtime(dir: string, suffix: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** The server runs the build, as in production; a build older than the sources would measure old code. */
export function checkBuild(): string | undefined {
  const built = (() => {
    try {
      return statSync(path.join(PROJECT_ROOT, 'dist', 'app.js')).mtimeMs
    } catch {
      return undefined
    }
  })()
  if (built === undefined) throw new Error('dist/ is missing: run `npm run build` first (the bench server runs the build)')
  const sources = newestMtime(path.join(PROJECT_ROOT, 'src'), '.ts')
  if (sources > built) return 'src/ has changed since the last build: run `npm run build` to measure the current code'
  return undefined
}

function waitForReady(child: ChildProcess): Promise<ServerInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bench server did not report ready within 120 s')), READY_TIMEOUT_MS)
    const done = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready') {
        done()
        resolve(message as ServerInfo)
      }
    }
    const onExit = (code: number | null) => {
      done()
      reject(new Error(`the bench server exited with ${code} before it was ready`))
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** Starts bench/server/server.mjs as its own process, never inside the process that generates load. */
export async function startServer(
  env: Record<string, string>,
  { cpuProfileDir, heapSnapshotDir }: { cpuProfileDir?: string; heapSnapshotDir?: string } = {},
): Promise<RunningServer> {
  // A profile covers the server's whole life (setup included); the summary is read by self time.
  const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(cpuProfileDir)}`] : []
  if (heapSnapshotDir) nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${path.resolve(heapSnapshotDir)}`)
  const child = spawn(process.execPath, [...nodeArgs, SERVER_ENTRY], {
    cwd: PROJECT_ROOT,
    // Only what the server needs: nothing from the shell (a stray .env variable, NODE_OPTIONS=--import tsx)
    // should change what is measured.
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  if (child.pid === undefined) throw new Error('could not start the bench server')
  const pid = child.pid
  let info: ServerInfo
  try {
    info = await waitForReady(child)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return {
    pid,
    baseUrl: `http://127.0.0.1:${info.port}`,
    info,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}
