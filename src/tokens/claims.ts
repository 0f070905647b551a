export type Role = 'user' | 'admin'

// JOSE `typ` values (RFC 8725 §3.11); the access type is the one RFC 9068 registers.
export const ACCESS_TOKEN_TYPE = 'at+jwt'
export const REFRESH_TOKEN_TYPE = 'refresh+jwt'

/** What an access token says about its holder; enough to serve /me with no database. */
export interface AccessClaims {
  sub: string
  email: string
  role: Role
  /** The user had proved they read mail at `email` when the token was minted (OpenID Connect's claim name). */
  email_verified: boolean
  /** The session (the refresh-token family) the token was minted for (OpenID Connect's claim name). */
  sid: string
  jti: string
  iat: number
  exp: number
}

/** A refresh token names its user, its family (one per login) and itself. */
export interface RefreshClaims {
  sub: string
  /** Family id: a UUIDv7 minted at login, kept by every rotation of that login. */
  fid: string
  jti: string
  iat: number
  exp: number
  /** The user's session epoch when the login began; refresh refuses it once the user's has moved on. */
  ep: number
  /** The login asked to be remembered (a persistent cookie). Carried, not derived from today's config. */
  rm: boolean
}

/**
 * The largest clock tolerance the verifier can be configured with (JWT_CLOCK_TOLERANCE_SECONDS): a token
 * is still accepted that long after its `exp`, so its denylist row must outlive `exp` by as much.
 */
export const MAX_CLOCK_TOLERANCE_SECONDS = 30
