import { randomUUID } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.js'
import type { Database, DbClient } from '../db/prisma.js'
import { ProblemError } from '../errors/problem.js'
import type { AuthEventRepository, NewAuthEvent } from '../events/auth-event-repository.js'
import type { DetachedEventWriter } from '../events/detached-event-writer.js'
import { clientAddressKey } from '../http/client-address.js'
import { mailTemplates } from '../mail/mail-templates.js'
import type { MailOutboxRepository } from '../mail/mail-outbox-repository.js'
import { describeClient, type Caller, type ClientInfo } from '../sessions/client-description.js'
import type { SessionRepository } from '../sessions/session-repository.js'
import type { RefreshClaims } from '../tokens/claims.js'
import type { RevokedTokenRepository, Rotation } from '../tokens/revoked-token-repository.js'
import type { TokenIssuer } from '../tokens/token-issuer.js'
import type { TokenVerifier } from '../tokens/token-verifier.js'
import { normalizeEmail } from '../users/email-address.js'
import type { UserRecord, UserRepository } from '../users/user-repository.js'
import type { PasswordCheck } from './password-check.js'

export interface AuthServiceDeps {
  users: Pick<UserRepository, 'findByEmail' | 'bumpSessionEpoch' | 'lockById'>
  revocations: Pick<RevokedTokenRepository, 'refreshStateOf' | 'recordRotation' | 'findRotation' | 'revokeFamily'>
  sessions: Pick<SessionRepository, 'create' | 'hasDevice' | 'deviceOf'>
  events: Pick<AuthEventRepository, 'record'>
  /** For the events of attempts that change nothing (a failed or throttled login). */
  detachedEvents: Pick<DetachedEventWriter, 'write' | 'once'>
  outbox: Pick<MailOutboxRepository, 'enqueue'>
  /** Called after a commit that queued mail, so it goes out now rather than at the next poll. */
  mailQueued: () => void
  transaction: Database['transaction']
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
  /** Mail the user when a login comes from a device label none of their sessions has. */
  notifyNewDevice: boolean
}

// A throttled client keeps trying; its refusals are recorded once per account, address and minute.
const THROTTLED_EVENT_WINDOW_MS = 60_000

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
  const { users, revocations, sessions, events, detachedEvents, outbox, transaction, checkPassword, issuer, verifier, clock, lifetimes } =
    deps
  const graceMs = lifetimes.reuseGraceSeconds * 1000

  async function sessionFor(user: UserRecord, refresh: RefreshClaims, nowMs: number): Promise<Session> {
    const [access, refreshToken] = await Promise.all([issuer.issueAccess(user, refresh.fid), issuer.issueRefresh(refresh)])
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
    // Logout-all, a password change or disabling since this login began: every login before it is over.
    if (claims.ep !== active.sessionEpoch || active.disabledAt !== null) throw new ProblemError('token_revoked', 'This login has been ended')
    return active
  }

  const eventOf = (type: NewAuthEvent['type'], client: ClientInfo, at: Date, fields: Partial<NewAuthEvent> = {}): NewAuthEvent => ({
    type,
    userId: null,
    ip: client.ip,
    device: client.device,
    at,
    ...fields,
  })

  /**
   * Revokes the family of `claims` (this login, its newest token included) and, if this call is the one
   * that did, records `event` in the same transaction; `alsoDo` runs there too. False if it was already.
   */
  function endLogin(
    claims: RefreshClaims,
    reason: 'logout' | 'reuse_detected',
    event: NewAuthEvent,
    alsoDo?: (tx: DbClient) => Promise<void>,
  ): Promise<boolean> {
    return transaction(async (tx) => {
      const won = await revocations.revokeFamily(
        { familyId: claims.fid, userId: claims.sub, reason, revokedAt: event.at, expiresAt: new Date(claims.exp * 1000) },
        tx,
      )
      if (!won) return false
      await events.record(event, tx)
      await alsoDo?.(tx)
      return true
    })
  }

  /** Ends the family after a replay, with the event and a notice to the user, once however many race. */
  async function endReusedLogin(claims: RefreshClaims, user: UserRecord | null, caller: Caller, nowMs: number): Promise<void> {
    const at = new Date(nowMs)
    const event = eventOf('refresh_reuse_detected', describeClient(caller), at, { userId: user?.id ?? null, sessionId: claims.fid })
    const noticed = await endLogin(claims, 'reuse_detected', event, async (tx) => {
      if (!user) return
      const device = (await sessions.deviceOf(claims.fid, tx)) ?? 'a device'
      await outbox.enqueue(mailTemplates.reuseDetected({ userId: user.id, recipient: user.email }, device), at, tx)
    })
    if (noticed) deps.mailQueued()
  }

  /**
   * Records the new login as a session, with its event, in one transaction. The user's row is write-locked
   * first: two logins from one new device take turns, so exactly one mails a notice.
   */
  async function startSession(user: UserRecord, refresh: RefreshClaims, client: ClientInfo, nowMs: number): Promise<void> {
    const at = new Date(nowMs)
    const noticed = await transaction(async (tx) => {
      // First, so the login holds the user's row from its first statement: a disable that committed while
      // the password was being checked is seen here, and one still running waits (the two never deadlock
      // on the row, as they did when the session's foreign-key check took it first). A locking read, not an
      // UPDATE: on Galera an UPDATE of the row would conflict with the user's refreshes on other nodes.
      const locked = await users.lockById(user.id, tx)
      if (!locked) throw new ProblemError('invalid_credentials', 'Email or password is wrong')
      if (locked.disabledAt !== null) throw new ProblemError('account_disabled', 'This account has been disabled by an administrator')
      let newDevice = false
      if (deps.notifyNewDevice) newDevice = !(await sessions.hasDevice(user.id, client.device, tx))
      await sessions.create(
        {
          id: refresh.fid,
          userId: user.id,
          epoch: refresh.ep,
          rememberMe: refresh.rm,
          ip: client.ip,
          userAgent: client.userAgent,
          device: client.device,
          createdAt: at,
          expiresAt: new Date(refresh.exp * 1000),
        },
        tx,
      )
      await events.record(eventOf('login_succeeded', client, at, { userId: user.id, sessionId: refresh.fid, details: { rememberMe: refresh.rm } }), tx)
      if (newDevice) {
        await outbox.enqueue(mailTemplates.newSignIn({ userId: user.id, recipient: user.email }, client.device, client.ip, at), at, tx)
      }
      return newDevice
    })
    if (noticed) deps.mailQueued()
  }

  /** The password check of a login; failures and throttling are recorded without holding the answer. */
  async function checkLogin(email: string, password: string, user: UserRecord | null, caller: Caller): Promise<boolean> {
    try {
      const ok = await checkPassword(email, caller.ip, password, user)
      if (!ok) {
        const details = { reason: user ? 'wrong_password' : 'unknown_account' }
        detachedEvents.write(eventOf('login_failed', describeClient(caller), new Date(clock.now()), { userId: user?.id ?? null, details }))
      }
      return ok
    } catch (error) {
      if (error instanceof ProblemError && error.code === 'rate_limited') {
        const key = `login_throttled|${user?.id ?? ''}|${clientAddressKey(caller.ip)}`
        detachedEvents.once(key, THROTTLED_EVENT_WINDOW_MS, eventOf('login_throttled', describeClient(caller), new Date(clock.now()), { userId: user?.id ?? null }))
      }
      throw error
    }
  }

  /** A second presentation of an already-rotated token: a racing tab inside the grace window, or a replay. */
  async function replayOrReuse(
    claims: RefreshClaims,
    rotation: Rotation,
    user: UserRecord | null,
    caller: Caller,
    nowMs: number,
  ): Promise<Session> {
    if (nowMs - rotation.revokedAt.getTime() <= graceMs) {
      const successor: RefreshClaims = { ...claims, jti: rotation.successorJti, iat: Math.floor(rotation.revokedAt.getTime() / 1000) }
      return sessionFor(current(user, claims), successor, nowMs)
    }
    // Someone holds a copy of a token that was already exchanged: the thief or the victim, we cannot
    // tell which, so the whole login ends (OAuth 2.0 Security BCP, refresh token rotation).
    await endReusedLogin(claims, user, caller, nowMs)
    throw new ProblemError('token_reused', 'This refresh token was already used; the login has been ended everywhere it was used')
  }

  return {
    async login(input: { email: string; password: string; rememberMe: boolean; caller: Caller }): Promise<Session> {
      const email = normalizeEmail(input.email)
      const user = await users.findByEmail(email)
      if (!(await checkLogin(email, input.password, user, input.caller)) || !user) {
        throw new ProblemError('invalid_credentials', 'Email or password is wrong')
      }
      const client = describeClient(input.caller)
      // Only after the password: these answers tell nothing to someone who does not know it.
      if (user.disabledAt !== null) {
        detachedEvents.write(eventOf('login_failed', client, new Date(clock.now()), { userId: user.id, details: { reason: 'account_disabled' } }))
        throw new ProblemError('account_disabled', 'This account has been disabled by an administrator')
      }
      if (deps.loginRequiresVerifiedEmail && user.emailVerifiedAt === null) {
        const details = { reason: 'email_unverified' }
        detachedEvents.write(eventOf('login_failed', client, new Date(clock.now()), { userId: user.id, details }))
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
      await startSession(user, refresh, client, nowMs)
      return sessionFor(user, refresh, nowMs)
    },

    /**
     * Exchanges a refresh token for a new pair. The denylist insert on the presented jti comes first and
     * is the commit point: of concurrent refreshes of one token exactly one inserts, and the others find
     * its row and get the same successor (inside the grace window) or end the family (outside it).
     */
    async refresh(token: string, caller: Caller): Promise<Session> {
      const claims = await verifier.verifyRefresh(token)
      const nowMs = clock.now()
      // Each rotation stamps iat, so an old iat means nobody used this login for that long (ASVS 7.3.1).
      if (nowMs - claims.iat * 1000 > lifetimes.refreshIdleTimeoutSeconds * 1000) {
        throw new ProblemError('token_expired', 'This login was not used for too long; log in again')
      }
      // The denylist rows and the user (its session epoch) in one round trip.
      const { state, user } = await revocations.refreshStateOf(claims)
      if (state.familyRevoked) throw new ProblemError('token_revoked', 'This login has been ended')
      if (state.rotation) return replayOrReuse(claims, state.rotation, user, caller, nowMs)
      const active = current(user, claims)

      // The family keeps the expiry, epoch and remember-me of its login: rotation never extends a session.
      const successor: RefreshClaims = { ...claims, jti: randomUUID(), iat: Math.floor(nowMs / 1000) }
      const won = await revocations.recordRotation({
        jti: claims.jti,
        familyId: claims.fid,
        userId: claims.sub,
        successorJti: successor.jti,
        revokedAt: new Date(nowMs),
        expiresAt: new Date(claims.exp * 1000),
      })
      if (!won) {
        const rotation = await revocations.findRotation(claims.jti)
        if (!rotation) throw new ProblemError('token_revoked', 'This login has been ended')
        return replayOrReuse(claims, rotation, user, caller, nowMs)
      }
      return sessionFor(active, successor, nowMs)
    },

    /** Ends the login the token belongs to. Already-ended and already-expired logins succeed quietly. */
    async logout(token: string, caller: Caller): Promise<void> {
      const claims = await verifier.verifyRefresh(token, { allowExpired: true })
      const nowMs = clock.now()
      if (claims.exp * 1000 <= nowMs) return
      const event = eventOf('session_revoked', describeClient(caller), new Date(nowMs), {
        userId: claims.sub,
        sessionId: claims.fid,
        details: { reason: 'logout' },
      })
      await endLogin(claims, 'logout', event)
    },

    /**
     * Ends every login of the user so far (the session epoch moves on); logins after this call are
     * unaffected. One atomic increment on the user's own row: nothing two users share, no clock.
     */
    logoutAll(userId: string, sessionId: string, caller: Caller): Promise<void> {
      return transaction(async (tx) => {
        await users.bumpSessionEpoch(userId, tx)
        await events.record(eventOf('logout_all', describeClient(caller), new Date(clock.now()), { userId, sessionId: sessionId || null }), tx)
      })
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
