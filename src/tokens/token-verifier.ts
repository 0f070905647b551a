import { createDecoder } from 'fast-jwt'
import type { Clock } from '../clock.js'
import { ProblemError } from '../errors/problem.js'
import { ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, type AccessClaims, type RefreshClaims, type Role } from './claims.js'
import { verifySignature } from './signature.js'
import type { RefreshKeySet } from './refresh-keys.js'
import type { KeySet, VerificationKey } from './signing-keys.js'
import { VerifiedTokenCache } from './verified-token-cache.js'

// Longer than any token we mint (an EdDSA access token with a 254-character email is under 700);
// anything bigger is refused before it is parsed.
const MAX_TOKEN_LENGTH = 4096

const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'] as const

export interface TokenVerifierOptions {
  /** Access tokens verify against these (the published keys)... */
  keys: KeySet
  /** ...and refresh tokens against these alone (HS256 secrets no one else holds). */
  refreshKeys: Pick<RefreshKeySet, 'verification'>
  issuer: string
  audience: string
  clockToleranceSeconds: number
  accessCacheSize: number
  clock: Clock
}

interface Decoded {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signature: string
  input: string
}

// fast-jwt's decoder parses the compact serialization strictly (base64url alphabet only, JSON objects).
const decode = createDecoder({ complete: true }) as (token: string) => Decoded

const invalid = (detail = 'The token is malformed, forged, of the wrong type, or not meant for this API') =>
  new ProblemError('token_invalid', detail)

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0
const isInteger = (value: unknown): value is number => Number.isSafeInteger(value)
const ROLES: ReadonlySet<string> = new Set<Role>(['user', 'admin'])

/** RFC 8725 §3.11 media types: compared case-insensitively, with or without the `application/` prefix. */
const normalizeTyp = (typ: unknown) => (typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined)

/**
 * A base64url signature has spare bits in its last character (4 of them for Ed25519's 64 bytes), so 16
 * different strings decode to one signature and all verify. Only the canonical spelling is accepted:
 * one token, one string.
 */
function canonicalSignature(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url')
  return bytes.length > 0 && bytes.toString('base64url') === segment ? bytes : undefined
}

/**
 * Verifies access and refresh tokens with no database: the key is the one named by `kid` among the
 * keys of the token's type (an access key never verifies a refresh token, nor the reverse), its algorithm
 * pinned (no `none`, no HS256 made with a public key), `typ` must be the token type's (`at+jwt` and
 * `refresh+jwt` never stand in for each other), `crit` extensions are refused, iss, aud and the other
 * claims are required, and the lifetime (exp, nbf) is checked against the injected clock with a bounded
 * tolerance. Every failure is a 401 problem, never a 500.
 *
 * Signatures are checked off the event loop (./signature.ts). A verified access token is cached until it
 * expires, so a client reusing its token costs one Map lookup; a cache hit is checked against the same
 * clock and the same rule as a fresh verification.
 */
export function createTokenVerifier(options: TokenVerifierOptions) {
  const { clock } = options
  const accessKeys = options.keys.verification
  const refreshKeys = options.refreshKeys.verification
  const toleranceMs = options.clockToleranceSeconds * 1000
  const accessCache = new VerifiedTokenCache<AccessClaims>(options.accessCacheSize)

  /** Everything but the signature and the lifetime, cheapest first: a forgery costs no crypto work. */
  function checkStructure(
    token: string,
    typ: string,
    keys: ReadonlyMap<string, VerificationKey>,
  ): { key: VerificationKey; decoded: Decoded; signature: Buffer } {
    if (token.length === 0) throw new ProblemError('token_missing', 'The token is empty')
    if (token.length > MAX_TOKEN_LENGTH) throw invalid('The token is too long')
    let decoded: Decoded
    try {
      decoded = decode(token)
    } catch {
      throw invalid()
    }
    const { header, payload } = decoded
    const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined
    if (!key || header.alg !== key.algorithm || normalizeTyp(header.typ) !== typ || header.crit !== undefined) {
      throw invalid()
    }
    if (REQUIRED_CLAIMS.some((claim) => !(claim in payload))) throw invalid()
    const aud = payload.aud
    const audienceMatches = aud === options.audience || (Array.isArray(aud) && aud.includes(options.audience))
    if (payload.iss !== options.issuer || !audienceMatches) throw invalid()
    const signature = canonicalSignature(decoded.signature)
    if (!signature) throw invalid()
    return { key, decoded, signature }
  }

  /** iat is not in the future: a future iat would outlast the refresh idle timeout, which counts from it. */
  function checkIssuedAt(iat: number, now: number): void {
    if (iat * 1000 > now + toleranceMs) throw invalid('The token claims to be issued in the future')
  }

  /** exp, and nbf when a token has one (ours never do), against the injected clock. */
  function checkLifetime(payload: Record<string, unknown>, exp: number, now: number): void {
    if (now > exp * 1000 + toleranceMs) throw new ProblemError('token_expired', 'The token has expired')
    const { nbf } = payload
    if (nbf === undefined) return
    if (!isInteger(nbf) || now < nbf * 1000 - toleranceMs) throw invalid('The token is not valid yet')
  }

  async function verifyFresh(token: string, typ: string, keys: ReadonlyMap<string, VerificationKey>): Promise<Record<string, unknown>> {
    const { key, decoded, signature } = checkStructure(token, typ, keys)
    if (!(await verifySignature(key.algorithm, key.keyObject, decoded.input, signature))) throw invalid()
    return decoded.payload
  }

  return {
    /** The claims of an access token verified before and not expired since, or undefined. Synchronous. */
    cachedAccess(token: string): AccessClaims | undefined {
      return accessCache.get(token, clock.now())
    },

    async verifyAccess(token: string): Promise<AccessClaims> {
      const cached = accessCache.get(token, clock.now())
      if (cached) return cached
      const payload = await verifyFresh(token, ACCESS_TOKEN_TYPE, accessKeys)
      // Tokens minted before email verification and sessions existed carry no email_verified (unverified)
      // and no sid (then no session is the caller's own).
      const { sub, email, role, email_verified = false, sid = '', jti, iat, exp } = payload
      if (!isString(sub) || !isString(email) || !isString(role) || !ROLES.has(role) || !isString(jti)) {
        throw invalid('The token lacks required claims')
      }
      if (typeof email_verified !== 'boolean') throw invalid('The token has a malformed email_verified claim')
      if (typeof sid !== 'string') throw invalid('The token has a malformed sid claim')
      if (!isInteger(iat) || !isInteger(exp)) throw invalid('The token has malformed time claims')
      const now = clock.now()
      checkIssuedAt(iat, now)
      checkLifetime(payload, exp, now)
      const claims: AccessClaims = { sub, email, role: role as Role, email_verified, sid, jti, iat, exp }
      accessCache.set(token, claims, exp * 1000 + toleranceMs)
      return claims
    },

    async verifyRefresh(token: string, { allowExpired = false } = {}): Promise<RefreshClaims> {
      const payload = await verifyFresh(token, REFRESH_TOKEN_TYPE, refreshKeys)
      const { sub, fid, jti, iat, exp, ep = 0, rm = false } = payload
      if (!isString(sub) || !isString(fid) || !isString(jti)) throw invalid('The token lacks required claims')
      if (!isInteger(iat) || !isInteger(exp)) throw invalid('The token has malformed time claims')
      // Tokens minted before epochs and the remember-me claim existed carry neither: epoch 0, not remembered.
      if (!isInteger(ep) || ep < 0 || typeof rm !== 'boolean') throw invalid('The token has malformed claims')
      const now = clock.now()
      checkIssuedAt(iat, now)
      if (!allowExpired) checkLifetime(payload, exp, now)
      return { sub, fid, jti, iat, exp, ep, rm }
    },
  }
}

export type TokenVerifier = ReturnType<typeof createTokenVerifier>
