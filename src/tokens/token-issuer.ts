import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { AccessClaims, RefreshClaims, Role } from './claims.js'

/** Signs a complete payload (./jwt-signer.ts), one signer per token type and key. */
export type SignFn = (payload: Record<string, unknown>) => Promise<string>

export interface TokenIssuerOptions {
  signAccess: SignFn
  signRefresh: SignFn
  accessTtlSeconds: number
  clock: Clock
}

export interface TokenSubject {
  id: string
  email: string
  role: Role
  emailVerifiedAt: Date | null
}

export interface IssuedAccessToken {
  token: string
  expiresIn: number
}

export function createTokenIssuer(options: TokenIssuerOptions) {
  return {
    /** An access token for `user` in the session `sessionId` (the family id of its login). */
    async issueAccess(user: TokenSubject, sessionId: string): Promise<IssuedAccessToken> {
      const iat = Math.floor(options.clock.now() / 1000)
      const claims: AccessClaims = {
        sub: user.id,
        email: user.email,
        role: user.role,
        email_verified: user.emailVerifiedAt !== null,
        sid: sessionId,
        jti: randomUUID(),
        iat,
        exp: iat + options.accessTtlSeconds,
      }
      return { token: await options.signAccess({ ...claims }), expiresIn: options.accessTtlSeconds }
    },

    /**
     * Signs a refresh token from its claims alone, always with the same claim order. The same claims give
     * the same token (EdDSA, HS256 and RS256 signatures are deterministic), which is what lets the grace
     * window hand a racing tab the very successor another tab already received.
     */
    issueRefresh(claims: RefreshClaims): Promise<string> {
      const { sub, fid, jti, iat, exp, ep, rm } = claims
      return options.signRefresh({ sub, fid, jti, iat, exp, ep, rm })
    },
  }
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>
