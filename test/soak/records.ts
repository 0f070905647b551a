/** What the soak client remembers about every response, and the token lineage inside it. */

export type Route = 'me' | 'refresh' | 'login' | 'logout'

/** A plain refresh, one of two tabs refreshing the same token at once, or a spent token presented again. */
export type RefreshKind = 'plain' | 'race' | 'replay'

export const DB_BOUND_ROUTES: ReadonlySet<Route> = new Set(['login', 'refresh', 'logout'])

export const ROUTE_LABELS: Record<Route, string> = {
  me: 'GET /me',
  refresh: 'POST /auth/refresh',
  login: 'POST /auth/login',
  logout: 'POST /auth/logout',
}

export interface ResponseRecord {
  route: Route
  /** Epoch ms: when the request was sent and when its answer (or failure) came back. */
  startedAt: number
  endedAt: number
  latencyMs: number
  /** 0 when no HTTP answer came back (connection reset, timeout). */
  status: number
  /** The `code` of a problem+json body, or the transport error. */
  code?: string
  user: number
  kind?: RefreshKind
  /** refresh and logout: the refresh token presented, from its payload. */
  jti?: string
  fid?: string
  /** refresh and login answered 200: the refresh token that came back. */
  successorJti?: string
  successorFid?: string
}

/** The run's clock, in epoch ms. */
export interface RunWindow {
  startedAt: number
  endedAt: number
  cutAt: number
  restoredAt: number
}

export interface RefreshTokenClaims {
  jti: string
  fid: string
  sub: string
}

/** Reads a refresh token's payload without verifying it: the client only needs to name what it holds. */
export function refreshClaimsOf(token: string): RefreshTokenClaims {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Partial<RefreshTokenClaims>
  if (typeof payload.jti !== 'string' || typeof payload.fid !== 'string' || typeof payload.sub !== 'string') {
    throw new Error('the refresh token has no jti, fid or sub')
  }
  return { jti: payload.jti, fid: payload.fid, sub: payload.sub }
}

type Outcome = Pick<ResponseRecord, 'status' | 'code'>

export const isSuccess = (record: Outcome) => record.status >= 200 && record.status < 300

/** A request whose outcome on the server is unknown: it may or may not have committed before failing. */
export const isUncertain = (record: Outcome) => record.status === 0 || record.status >= 500

export const endsFamily = (record: Outcome) =>
  record.status === 401 && (record.code === 'token_reused' || record.code === 'token_revoked')
