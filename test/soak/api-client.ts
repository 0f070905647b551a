import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'

export interface Answer {
  status: number
  /** The problem's `code`, or the transport error when no HTTP answer came back. */
  code?: string
  body?: Record<string, unknown>
  startedAt: number
  endedAt: number
  latencyMs: number
}

export interface TokenPair {
  accessToken: string
  refreshToken: string
}

// Generous: during the cut a DB-bound request should fail within DB_OPERATION_TIMEOUT_MS (3 s), so a
// request that needs this long has hung and is recorded as a failure (status 0), not waited for.
const REQUEST_TIMEOUT_MS = 30_000

export function tokenPairOf(answer: Answer): TokenPair | undefined {
  const { accessToken, refreshToken } = answer.body ?? {}
  return typeof accessToken === 'string' && typeof refreshToken === 'string' ? { accessToken, refreshToken } : undefined
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The API over keep-alive connections, one per worker, so connection set-up does not blur latencies. */
export function createApiClient(baseUrl: string, connections: number) {
  const pool = new Pool(baseUrl, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  })

  async function send(method: 'GET' | 'POST', path: string, init: { json?: object; bearer?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = {}
    if (init.json) headers['content-type'] = 'application/json'
    if (init.bearer) headers.authorization = `Bearer ${init.bearer}`
    const startedAt = Date.now()
    const started = performance.now()
    const done = (answer: Omit<Answer, 'startedAt' | 'endedAt' | 'latencyMs'>): Answer => ({
      ...answer,
      startedAt,
      endedAt: Date.now(),
      latencyMs: performance.now() - started,
    })
    try {
      const response = await pool.request({ method, path, headers, body: init.json ? JSON.stringify(init.json) : undefined })
      const body = parseBody(await response.body.text())
      const failed = response.statusCode >= 400
      const code = failed ? (typeof body?.code === 'string' ? body.code : 'no problem body') : undefined
      return done({ status: response.statusCode, code, body })
    } catch (error) {
      const { code, name } = error as { code?: unknown; name?: unknown }
      return done({ status: 0, code: String(code ?? name ?? 'error') })
    }
  }

  return {
    register: (email: string, password: string) => send('POST', '/auth/register', { json: { email, password } }),
    login: (email: string, password: string) => send('POST', '/auth/login', { json: { email, password, transport: 'body' } }),
    refresh: (refreshToken: string) => send('POST', '/auth/refresh', { json: { refreshToken } }),
    logout: (refreshToken: string) => send('POST', '/auth/logout', { json: { refreshToken } }),
    me: (accessToken: string) => send('GET', '/me', { bearer: accessToken }),
    forgotPassword: (email: string) => send('POST', '/auth/password/forgot', { json: { email } }),
    close: () => pool.close(),
  }
}

export type ApiClient = ReturnType<typeof createApiClient>
