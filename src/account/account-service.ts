import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.js'
import type { Database, DbClient } from '../db/prisma.js'
import { ProblemError } from '../errors/problem.js'
import type { AuthEventRepository, AuthEventType, EventDetails } from '../events/auth-event-repository.js'
import type { LinkPurpose } from '../generated/prisma/enums.js'
import { linkUrl, mailTemplates, type LinkPage } from '../mail/mail-templates.js'
import type { MailOutboxRepository, OutgoingMail } from '../mail/mail-outbox-repository.js'
import { describeClient, type Caller } from '../sessions/client-description.js'
import type { Role } from '../tokens/claims.js'
import { normalizeEmail } from '../users/email-address.js'
import type { UserRecord, UserRepository } from '../users/user-repository.js'
import type { PasswordCheck } from '../auth/password-check.js'
import { personalWords } from '../auth/password-check.js'
import type { PasswordHasher } from '../auth/password-hasher.js'
import type { PasswordStrengthChecker } from '../auth/password-strength.js'
import type { AccountLinkRepository } from './account-link-repository.js'
import { hashLinkToken, isWellFormedLinkToken, newLinkToken } from './link-tokens.js'
import type { MailBudget } from './mail-budget.js'

export interface AccountServiceDeps {
  users: Pick<
    UserRepository,
    'findByEmail' | 'findById' | 'lockById' | 'create' | 'replacePassword' | 'markEmailVerified' | 'changeEmail' | 'delete'
  >
  links: Pick<AccountLinkRepository, 'issue' | 'find' | 'consume' | 'invalidateAll'>
  outbox: Pick<MailOutboxRepository, 'enqueue'>
  events: Pick<AuthEventRepository, 'record'>
  /** Called after a commit that queued mail, so it goes out now rather than at the next poll. */
  mailQueued: () => void
  transaction: Database['transaction']
  passwords: Pick<PasswordHasher, 'hash'>
  checkPassword: PasswordCheck
  strength: Pick<PasswordStrengthChecker, 'check'>
  budget: Pick<MailBudget, 'take'>
  clock: Clock
  settings: {
    appUrl: string
    linkTtlSeconds: Record<LinkPurpose, number>
    /** Forgot and resend answer no sooner than this, account or not (enumeration by timing). */
    mailRequestMinResponseMs: number
  }
}

export interface PublicUser {
  id: string
  email: string
  role: Role
  emailVerified: boolean
  createdAt: Date
}

export const publicUser = (user: UserRecord): PublicUser => ({
  id: user.id,
  email: user.email,
  role: user.role,
  emailVerified: user.emailVerifiedAt !== null,
  createdAt: user.createdAt,
})

const PAGES: Record<LinkPurpose, LinkPage> = {
  verify_email: 'verify-email',
  password_reset: 'reset-password',
  email_change: 'confirm-email',
}

const linkInvalid = () => new ProblemError('link_invalid', 'This link is unknown, was already used, or a newer one replaced it')
const linkExpired = () => new ProblemError('link_expired', 'This link has expired; ask for a new one')

/**
 * Accounts and what mail proves about them: registration with a verification link, password reset,
 * email change, deletion. Every change and the mail that announces it commit together (the outbox); no
 * request waits on SMTP. Links are one-time tokens of which only a hash is stored.
 */
export function createAccountService(deps: AccountServiceDeps) {
  const { users, links, outbox, events, transaction, passwords, checkPassword, strength, budget, clock, settings } = deps

  /** Records a security event inside `tx`, the transaction of the change it reports. */
  function recordEvent(
    tx: DbClient,
    type: AuthEventType,
    userId: string | null,
    caller: Caller,
    extra: { sessionId?: string; details?: EventDetails } = {},
  ): Promise<void> {
    const { ip, device } = describeClient(caller)
    return events.record({ type, userId, ip, device, at: new Date(clock.now()), sessionId: extra.sessionId || null, details: extra.details }, tx)
  }

  /**
   * Creates a link for `user` (superseding older ones of the purpose) and queues the mail carrying it.
   * The user's row is locked first: concurrent requests for one user take turns instead of deadlocking
   * on the links index, and exactly one of their links is left valid.
   */
  async function sendLink(
    tx: DbClient,
    user: Pick<UserRecord, 'id'>,
    purpose: LinkPurpose,
    mail: (link: string, ttlSeconds: number) => OutgoingMail,
    newEmail?: string,
  ): Promise<void> {
    await users.lockById(user.id, tx)
    const { token, hash } = newLinkToken()
    const now = clock.now()
    const ttlSeconds = settings.linkTtlSeconds[purpose]
    await links.issue(
      { tokenHash: hash, purpose, userId: user.id, newEmail, createdAt: new Date(now), expiresAt: new Date(now + ttlSeconds * 1000) },
      tx,
    )
    await outbox.enqueue(mail(linkUrl(settings.appUrl, PAGES[purpose], token), ttlSeconds), new Date(now), tx)
  }

  /** Why a link that could not be consumed fails: expired if it is otherwise good, else invalid. */
  async function refusal(hash: string, purpose: LinkPurpose, tx?: DbClient): Promise<ProblemError> {
    const link = await links.find(hash, tx)
    if (link && link.purpose === purpose && link.usedAt === null && link.expiresAt.getTime() <= clock.now()) return linkExpired()
    return linkInvalid()
  }

  /** The link's hash, or link_invalid for a token no link of ours can have, before any database read. */
  function hashOf(token: string): string {
    if (!isWellFormedLinkToken(token)) throw linkInvalid()
    return hashLinkToken(token)
  }

  /**
   * Uses up the link inside `tx` and returns it; throws link_invalid or link_expired. The conditional
   * UPDATE is the commit point: of two concurrent uses of one link, one proceeds and one is refused.
   */
  async function consume(tx: DbClient, hash: string, purpose: LinkPurpose) {
    const link = await links.find(hash, tx)
    if (!link || link.purpose !== purpose || !(await links.consume(hash, purpose, new Date(clock.now()), tx))) {
      throw await refusal(hash, purpose, tx)
    }
    return link
  }

  /**
   * Runs a flow whose answer must not tell whether the address has an account: the same body and status
   * either way, and never sooner than the floor, so the work done for a real account does not show in
   * the timing. Errors wait for the floor too.
   */
  async function anonymously(work: () => Promise<void>): Promise<void> {
    const started = performance.now()
    try {
      await work()
    } finally {
      const left = settings.mailRequestMinResponseMs - (performance.now() - started)
      if (left > 0) await sleep(left)
    }
  }

  async function existing(userId: string): Promise<UserRecord> {
    const user = await users.findById(userId)
    if (!user) throw new ProblemError('token_revoked', 'The account behind this token no longer exists')
    return user
  }

  const mailed = <T>(result: T): T => {
    deps.mailQueued()
    return result
  }

  return {
    /** Creates the account and queues its verification mail, in one transaction. */
    async register(input: { email: string; password: string }): Promise<PublicUser> {
      const email = normalizeEmail(input.email)
      await strength.check(input.password, personalWords(email))
      const passwordHash = await passwords.hash(input.password)
      const user = await transaction(async (tx) => {
        const created = await users.create({ id: uuidv7(), email, passwordHash }, tx)
        if (!created) throw new ProblemError('email_taken', 'An account with this email already exists')
        await sendLink(tx, created, 'verify_email', (link, ttl) => mailTemplates.verifyEmail({ userId: created.id, recipient: email }, link, ttl))
        return created
      })
      // The first mail counts against the address's budget: register plus a few resends per hour.
      await budget.take('verify_email', email)
      return mailed(publicUser(user))
    },

    async verifyEmail(token: string, caller: Caller): Promise<PublicUser> {
      const hash = hashOf(token)
      return transaction(async (tx) => {
        const link = await consume(tx, hash, 'verify_email')
        await users.markEmailVerified(link.userId, new Date(clock.now()), tx)
        await recordEvent(tx, 'email_verified', link.userId, caller)
        const user = await users.findById(link.userId, tx)
        if (!user) throw linkInvalid()
        return publicUser(user)
      })
    },

    /** Queues a new verification link for an unverified account; silent for any other address. */
    resendVerification(rawEmail: string): Promise<void> {
      const email = normalizeEmail(rawEmail)
      return anonymously(async () => {
        const user = await users.findByEmail(email)
        if (!user || user.emailVerifiedAt !== null || !(await budget.take('verify_email', email))) return
        await transaction((tx) =>
          sendLink(tx, user, 'verify_email', (link, ttl) => mailTemplates.verifyEmail({ userId: user.id, recipient: email }, link, ttl)),
        )
        mailed(undefined)
      })
    },

    /** Queues a reset link for an account with this address; silent for any other address. */
    forgotPassword(rawEmail: string, caller: Caller): Promise<void> {
      const email = normalizeEmail(rawEmail)
      return anonymously(async () => {
        const user = await users.findByEmail(email)
        if (!user || !(await budget.take('password_reset', email))) return
        await transaction(async (tx) => {
          await sendLink(tx, user, 'password_reset', (link, ttl) =>
            mailTemplates.passwordReset({ userId: user.id, recipient: email }, link, ttl),
          )
          await recordEvent(tx, 'password_reset_requested', user.id, caller)
        })
        mailed(undefined)
      })
    },

    /**
     * Sets a new password from a reset link. One transaction uses the link, replaces the hash, ends every
     * login (the session epoch moves on), uses up every other outstanding link of the user, marks the
     * address verified and queues a notice. The new password is checked before the link is used, so a
     * weak one does not cost the user their link.
     */
    async resetPassword(input: { token: string; newPassword: string; caller: Caller }): Promise<void> {
      const hash = hashOf(input.token)
      const link = await links.find(hash)
      if (!link || link.purpose !== 'password_reset') throw linkInvalid()
      if (link.usedAt !== null) throw linkInvalid()
      if (link.expiresAt.getTime() <= clock.now()) throw linkExpired()
      const user = await users.findById(link.userId)
      if (!user) throw linkInvalid()
      await strength.check(input.newPassword, personalWords(user.email))
      const passwordHash = await passwords.hash(input.newPassword)
      await transaction(async (tx) => {
        await consume(tx, hash, 'password_reset')
        const current = await users.lockById(user.id, tx)
        if (!current) throw linkInvalid()
        const now = new Date(clock.now())
        await users.replacePassword(user.id, passwordHash, tx, now)
        await links.invalidateAll(user.id, now, tx)
        await outbox.enqueue(mailTemplates.passwordChanged({ userId: user.id, recipient: current.email }), now, tx)
        await recordEvent(tx, 'password_reset', user.id, input.caller)
      })
      mailed(undefined)
    },

    /**
     * Replaces the password after checking the current one (under the login limits) and ends every login
     * of the user in the same statement; a notice goes to the address. Access tokens already issued stay
     * valid until they expire, as always.
     */
    async changePassword(input: { userId: string; sessionId: string; currentPassword: string; newPassword: string; caller: Caller }): Promise<void> {
      const user = await existing(input.userId)
      if (!(await checkPassword(user.email, input.caller.ip, input.currentPassword, user))) {
        throw new ProblemError('invalid_credentials', 'The current password is wrong')
      }
      await strength.check(input.newPassword, personalWords(user.email))
      const passwordHash = await passwords.hash(input.newPassword)
      await transaction(async (tx) => {
        await users.replacePassword(user.id, passwordHash, tx)
        await outbox.enqueue(mailTemplates.passwordChanged({ userId: user.id, recipient: user.email }), new Date(clock.now()), tx)
        await recordEvent(tx, 'password_changed', user.id, input.caller, { sessionId: input.sessionId })
      })
      mailed(undefined)
    },

    /**
     * Starts moving the account to `newEmail`: a confirmation link goes to the new address and a notice to
     * the current one. Nothing changes until the link is used.
     */
    async requestEmailChange(input: {
      userId: string
      sessionId: string
      newEmail: string
      currentPassword: string
      caller: Caller
    }): Promise<void> {
      const user = await existing(input.userId)
      if (!(await checkPassword(user.email, input.caller.ip, input.currentPassword, user))) {
        throw new ProblemError('invalid_credentials', 'The current password is wrong')
      }
      const newEmail = normalizeEmail(input.newEmail)
      if (newEmail === user.email) {
        throw new ProblemError('validation_failed', 'body.newEmail: is already the address of this account', {
          errors: [{ path: 'body.newEmail', message: 'is already the address of this account' }],
        })
      }
      if (await users.findByEmail(newEmail)) throw new ProblemError('email_taken', 'An account with this email already exists')
      if (!(await budget.take('email_change', newEmail))) return
      await transaction(async (tx) => {
        await sendLink(
          tx,
          user,
          'email_change',
          (link, ttl) => mailTemplates.confirmEmailChange({ userId: user.id, recipient: newEmail }, link, ttl),
          newEmail,
        )
        await outbox.enqueue(mailTemplates.emailChangeRequested({ userId: user.id, recipient: user.email }, newEmail), new Date(clock.now()), tx)
        await recordEvent(tx, 'email_change_requested', user.id, input.caller, { sessionId: input.sessionId, details: { newEmail } })
      })
      mailed(undefined)
    },

    /**
     * Moves the account to the address the link was sent to, verified. If another account took that
     * address meanwhile, nothing changes (the link stays usable) and the answer is 409. Every other
     * outstanding link of the user is used up: none of them was meant for the new address.
     */
    async confirmEmailChange(token: string, caller: Caller): Promise<PublicUser> {
      const hash = hashOf(token)
      return transaction(async (tx) => {
        const link = await consume(tx, hash, 'email_change')
        if (!link.newEmail) throw linkInvalid()
        const now = new Date(clock.now())
        if (!(await users.changeEmail(link.userId, link.newEmail, now, tx))) {
          throw new ProblemError('email_taken', 'Another account uses this address by now')
        }
        await links.invalidateAll(link.userId, now, tx)
        await recordEvent(tx, 'email_changed', link.userId, caller)
        const user = await users.findById(link.userId, tx)
        if (!user) throw linkInvalid()
        return publicUser(user)
      })
    },

    /**
     * Deletes the account after checking its password: its denylist rows, links and queued mail go with
     * it, and its refresh tokens stop working at once (their user is gone). An access token already issued
     * lives until it expires.
     */
    async deleteAccount(input: { userId: string; password: string; caller: Caller }): Promise<void> {
      const user = await existing(input.userId)
      if (!(await checkPassword(user.email, input.caller.ip, input.password, user))) {
        throw new ProblemError('invalid_credentials', 'The password is wrong')
      }
      await transaction(async (tx) => {
        await users.delete(user.id, tx)
        // The user's own events go with the account; this one stays, holding no address.
        await recordEvent(tx, 'account_deleted', null, input.caller, { details: { userId: user.id } })
      })
    },
  }
}

export type AccountService = ReturnType<typeof createAccountService>
