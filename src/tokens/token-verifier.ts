import { createVerifier } from 'fast-jwt'
import { ProblemError } from '../errors/problem.js'
import type { Clock } from '../clock.js'
import type { KeySet } from './signing-keys.js'
import { VerifiedTokenCache } from './verified-token-cache.js'
import { ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, type AccessClaims, type RefreshClaims, type Role } from './claims.js'

// Longer than any token we mint (an EdDSA access token with a 254-character email is under 700);
// anything bigger is refused before it is parsed.
export const MAX_TOKEN_LENGTH = 4096

export interface TokenVerifierOptions {
  keys: KeySet
  issuer: string
  audience: string
  clockToleranceSeconds: number
  accessCacheSize: number
  clock: Clock
}

type RawVerifier = (token: string) => Record<string, unknown>

const invalid = (detail: string) => new ProblemError('token_invalid', detail)

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0
const isInteger = (value: unknown): value is number => Number.isSafeInteger(value)
const ROLES: ReadonlySet<string> = new Set<Role>(['user', 'admin'])

/**
 * A base64url signature has spare bits in its last character (4 of them for Ed25519's 64 bytes), so 16
 * different strings decode to one signature and all verify. Only the canonical spelling is accepted:
 * one token, one string.
 */
function hasCanonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf('.') + 1)
  return Buffer.from(signature, 'base64url').toString('base64url') === signature
}

/** The `kid` from a JWT's header, read without trusting anything else in it yet. */
function keyIdOf(token: string): unknown {
  const end = token.indexOf('.')
  if (end <= 0) return undefined
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString('utf8')) as unknown
    return typeof header === 'object' && header !== null ? (header as { kid?: unknown }).kid : undefined
  } catch {
    return undefined
  }
}

/**
 * Verifies access and refresh tokens with no database: signature by the key named in `kid` (its
 * algorithm pinned), `typ` (RFC 8725 §3.11: `at+jwt` and `refresh+jwt` never stand in for each other),
 * iss, aud, and the lifetime against the injected clock with a bounded tolerance. Every failure is a
 * 401 problem, never a 500.
 *
 * fast-jwt (the engine inside @fastify/jwt) checks everything but the lifetime, which is checked here so
 * that a cache hit and a fresh verification use the same clock and the same rule.
 */
export function createTokenVerifier(options: TokenVerifierOptions) {
  const { clock } = options
  const toleranceMs = options.clockToleranceSeconds * 1000
  const accessCache = new VerifiedTokenCache<AccessClaims>(options.accessCacheSize)

  function verifiersFor(typ: string): Map<string, RawVerifier> {
    const byKid = new Map<string, RawVerifier>()
    for (const key of options.keys.verification.values()) {
      const verifier = createVerifier({
        key: key.key,
        algorithms: [key.algorithm],
        checkTyp: typ,
        allowedIss: options.issuer,
        allowedAud: options.audience,
        // iss and aud are only compared when present; requiring them refuses tokens minted without them.
        requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'],
        // Lifetime is checked below, against the same clock as cache hits.
        ignoreExpiration: true,
        ignoreNotBefore: true,
        cache: false,
      }) as RawVerifier
      byKid.set(key.kid, verifier)
    }
    return byKid
  }

  const accessVerifiers = verifiersFor(ACCESS_TOKEN_TYPE)
  const refreshVerifiers = verifiersFor(REFRESH_TOKEN_TYPE)

  function verifySignature(token: string, verifiers: Map<string, RawVerifier>): Record<string, unknown> {
    if (token.length === 0) throw new ProblemError('token_missing', 'The token is empty')
    if (token.length > MAX_TOKEN_LENGTH) throw invalid('The token is too long')
    const kid = keyIdOf(token)
    const verifier = typeof kid === 'string' ? verifiers.get(kid) : undefined
    if (!verifier || !hasCanonicalSignature(token)) {
      throw invalid('The token is malformed or was not signed by a key this server trusts')
    }
    try {
      return verifier(token)
    } catch {
      // The reason (bad signature, wrong typ, iss, aud...) is logged by nobody and told to nobody:
      // a forger learns nothing from the answer.
      throw invalid('The token is malformed, forged, of the wrong type, or not meant for this API')
    }
  }

  /** exp, and nbf when a token has one (ours never do), against the injected clock. */
  function checkLifetime(payload: Record<string, unknown>, exp: number, now: number): void {
    if (now > exp * 1000 + toleranceMs) throw new ProblemError('token_expired', 'The token has expired')
    const { nbf } = payload
    if (nbf === undefined) return
    if (!isInteger(nbf) || now < nbf * 1000 - toleranceMs) throw invalid('The token is not valid yet')
  }

  return {
    verifyAccess(token: string): AccessClaims {
      const now = clock.now()
      const cached = accessCache.get(token, now)
      if (cached) return cached
      const payload = verifySignature(token, accessVerifiers)
      const { sub, email, role, jti, iat, exp } = payload
      if (!isString(sub) || !isString(email) || !isString(role) || !ROLES.has(role) || !isString(jti)) {
        throw invalid('The token lacks required claims')
      }
      if (!isInteger(iat) || !isInteger(exp)) throw invalid('The token has malformed time claims')
      checkLifetime(payload, exp, now)
      const claims: AccessClaims = { sub, email, role: role as Role, jti, iat, exp }
      accessCache.set(token, claims, exp * 1000 + toleranceMs)
      return claims
    },

    verifyRefresh(token: string, { allowExpired = false } = {}): RefreshClaims {
      const payload = verifySignature(token, refreshVerifiers)
      const { sub, fid, jti, iat, exp } = payload
      if (!isString(sub) || !isString(fid) || !isString(jti)) throw invalid('The token lacks required claims')
      if (!isInteger(iat) || !isInteger(exp)) throw invalid('The token has malformed time claims')
      if (!allowExpired) checkLifetime(payload, exp, clock.now())
      return { sub, fid, jti, iat, exp }
    },

    accessCache,
  }
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>
