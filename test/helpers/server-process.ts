import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes, type KeyObject } from 'node:crypto'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { DEFAULT_SIGNING_ALGORITHM, generateSigningMaterial, type SigningAlgorithm } from '../../src/tokens/signing-keys.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  server.close()
  return port
}

/**
 * A signing key the test keeps, so tokens survive a restart of the server process: PEM (PKCS#8), of the
 * default JWT_ALGORITHM unless told otherwise.
 */
export function generateSigningKey(algorithm: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM): string {
  if (algorithm === 'HS256') throw new Error('HS256 takes a secret, not a key pair')
  return (generateSigningMaterial(algorithm) as KeyObject).export({ format: 'pem', type: 'pkcs8' }).toString()
}

/** A REFRESH_TOKEN_SECRET the test keeps, for the same reason. */
export const generateRefreshSecret = () => randomBytes(32).toString('base64')

export interface ServerProcess {
  url: string
  child: ChildProcess
  /** Every line the server wrote to stdout and stderr so far. */
  lines: string[]
  /** Resolves with the first line matching `pattern`, waiting for it if need be. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Resolves with the exit code. */
  exited: Promise<number | null>
}

/**
 * The real server (src/server.ts, run through tsx so no build is needed) as its own process, on a free
 * port. `env` is added to a quiet production-like environment.
 */
export async function startServer(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      BCRYPT_COST: '4',
      PRUNE_INTERVAL_SECONDS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = []
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = once(child, 'exit').then(([code]) => code as number | null)

  const waitForLine = (pattern: RegExp, timeoutMs = 20_000) => {
    const seen = lines.find((line) => pattern.test(line))
    if (seen) return Promise.resolve(seen)
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs)
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) })
      void exited.then((code) => reject(new Error(`the server exited (${code}) before printing ${pattern}:\n${lines.join('\n')}`)))
    })
  }
  await waitForLine(/Server listening at/)
  return { url: `http://127.0.0.1:${port}`, child, lines, waitForLine, exited }
}

/** Polls `check` every 50 ms until it passes or `ms` have gone by; returns how long it took. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    try {
      if (await check()) return Date.now() - started
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not within ${ms} ms`)
}
