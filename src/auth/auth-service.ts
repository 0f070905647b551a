import { randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.js'
import { ProblemError } from '../errors/problem.js'
import type { RefreshClaims } from '../tokens/claims.js'
import type { RevokedTokenRepository, Rotation } from '../tokens/revoked-token-repository.js'
import type { TokenIssuer } from '../tokens/token-issuer.js'
import type { TokenVerifier } from '../tokens/token-verifier.js'
import { normalizeEmail } from '../users/email-address.js'
import type { UserRecord, UserRepository } from '../users/user-repository.js'
import type { PasswordCheck } from './password-check.js'

export interface AuthServiceDeps {
  users: Pick<UserRepository, 'findByEmail' | 'bumpSessionEpoch'>
  revocations: Pick<RevokedTokenRepository, 'refreshStateOf' | 'recordRotation' | 'findRotation' | 'revokeFamily'>
  checkPassword: PasswordCheck
  issuer: TokenIssuer
  verifier: Pick<TokenVerifier, 'verifyRefresh'>
  clock: Clock
  lifetimes: {
    refreshTtlSeconds: number
    rememberMeTtlSeconds: number
    reuseGraceSeconds: number
    refreshIdleTimeoutSeconds: number
  }
  /** A correct password for an unverified address is refused (403) instead of logging in. */
  loginRequiresVerifiedEmail: boolean
}

/** What a login or a refresh hands the client. */
export interface Session {
  accessToken: string
  expiresIn: number
  refreshToken: string
  /** Seconds until the refresh token, and with it the login, expires. */
  refreshExpiresIn: number
  /** The login asked to be remembered: cookie transport then sets a persistent cookie. */
  rememberMe: boolean
}

export function createAuthService(deps: AuthServiceDeps) {
  const { users, revocations, checkPassword, issuer, verifier, clock, lifetimes } = deps
  const graceMs = lifetimes.reuseGraceSeconds * 1000

  async function sessionFor(user: UserRecord, refresh: RefreshClaims, nowMs: number): Promise<Session> {
    const [access, refreshToken] = await Promise.all([issuer.issueAccess(user), issuer.issueRefresh(refresh)])
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresIn: Math.max(0, refresh.exp - Math.floor(nowMs / 1000)),
      rememberMe: refresh.rm,
    }
  }

  function existing(user: UserRecord | null): UserRecord {
    if (!user) throw new ProblemError('token_revoked', 'The account behind this token no longer exists')
    return user
  }

  /** The user behind a refresh token, if the token's login is still of the user's current epoch. */
  function current(user: UserRecord | null, claims: RefreshClaims): UserRecord {
    const active = existing(user)
    // Logout-all or a password change since this login began: every login before it is over.
    if (claims.ep !== active.sessionEpoch) throw new ProblemError('token_revoked', 'This login has been ended')
    return active
  }

  /** Revokes the family of `claims`: this login, its newest token included. */
  function endLogin(claims: RefreshClaims, reason: 'logout' | 'reuse_detected', nowMs: number): Promise<void> {
    return revocations.revokeFamily({
      familyId: claims.fid,
      userId: claims.sub,
      reason,
      revokedAt: new Date(nowMs),
      expiresAt: new Date(claims.exp * 1000),
    })
  }

  /** A second presentation of an already-rotated token: a racing tab inside the grace window, or a replay. */
  async function replayOrReuse(claims: RefreshClaims, rotation: Rotation, user: UserRecord | null, nowMs: number): Promise<Session> {
    if (nowMs - rotation.revokedAt.getTime() <= graceMs) {
      const successor: RefreshClaims = { ...claims, jti: rotation.successorJti, iat: Math.floor(rotation.revokedAt.getTime() / 1000) }
      return sessionFor(current(user, claims), successor, nowMs)
    }
    // Someone holds a copy of a token that was already exchanged: the thief or the victim, we cannot
    // tell which, so the whole login ends (OAuth 2.0 Security BCP, refresh token rotation).
    await endLogin(claims, 'reuse_detected', nowMs)
    throw new ProblemError('token_reused', 'This refresh token was already used; the login has been ended everywhere it was used')
  }

  return {
    async login(input: { email: string; password: string; rememberMe: boolean; ip: string }): Promise<Session> {
      const email = normalizeEmail(input.email)
      const user = await users.findByEmail(email)
      if (!(await checkPassword(email, input.ip, input.password, user)) || !user) {
        throw new ProblemError('invalid_credentials', 'Email or password is wrong')
      }
      // Only after the password: the answer tells nothing to someone who does not know it.
      if (deps.loginRequiresVerifiedEmail && user.emailVerifiedAt === null) {
        throw new ProblemError('email_unverified', 'Confirm your email address first: open the link we mailed you, or ask for a new one')
      }

      const nowMs = clock.now()
      const iat = Math.floor(nowMs / 1000)
      const lifetime = input.rememberMe ? lifetimes.rememberMeTtlSeconds : lifetimes.refreshTtlSeconds
      const refresh: RefreshClaims = {
        sub: user.id,
        fid: uuidv7({ msecs: nowMs }),
        jti: randomUUID(),
        iat,
        exp: iat + lifetime,
        // The epoch read with the hash, before bcrypt: a password change or logout-all that lands while
        // this login is being checked leaves it minted under an epoch that is already over.
        ep: user.sessionEpoch,
        rm: input.rememberMe,
      }
      return sessionFor(user, refresh, nowMs)
    },

    /**
     * Exchanges a refresh token for a new pair. The denylist insert on the presented jti comes first and
     * is the commit point: of concurrent refreshes of one token exactly one inserts, and the others find
     * its row and get the same successor (inside the grace window) or end the family (outside it).
     */
    async refresh(token: string): Promise<Session> {
      const claims = await verifier.verifyRefresh(token)
      const nowMs = clock.now()
      // Each rotation stamps iat, so an old iat means nobody used this login for that long (ASVS 7.3.1).
      if (nowMs - claims.iat * 1000 > lifetimes.refreshIdleTimeoutSeconds * 1000) {
        throw new ProblemError('token_expired', 'This login was not used for too long; log in again')
      }
      // The denylist rows and the user (its session epoch) in one round trip.
      const { state, user } = await revocations.refreshStateOf(claims)
      if (state.familyRevoked) throw new ProblemError('token_revoked', 'This login has been ended')
      if (state.rotation) return replayOrReuse(claims, state.rotation, user, nowMs)
      const active = current(user, claims)

      // The family keeps the expiry, epoch and remember-me of its login: rotation never extends a session.
      const successor: RefreshClaims = { ...claims, jti: randomUUID(), iat: Math.floor(nowMs / 1000) }
      const won = await revocations.recordRotation({
        jti: claims.jti,
        userId: claims.sub,
        successorJti: successor.jti,
        revokedAt: new Date(nowMs),
        expiresAt: new Date(claims.exp * 1000),
      })
      if (!won) {
        const rotation = await revocations.findRotation(claims.jti)
        if (!rotation) throw new ProblemError('token_revoked', 'This login has been ended')
        return replayOrReuse(claims, rotation, user, nowMs)
      }
      return sessionFor(active, successor, nowMs)
    },

    /** Ends the login the token belongs to. Already-ended and already-expired logins succeed quietly. */
    async logout(token: string): Promise<void> {
      const claims = await verifier.verifyRefresh(token, { allowExpired: true })
      const nowMs = clock.now()
      if (claims.exp * 1000 <= nowMs) return
      await endLogin(claims, 'logout', nowMs)
    },

    /**
     * Ends every login of the user so far (the session epoch moves on); logins after this call are
     * unaffected. One atomic increment on the user's own row: nothing two users share, no clock.
     */
    logoutAll(userId: string): Promise<void> {
      return users.bumpSessionEpoch(userId)
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
