import { v7 as uuidv7 } from 'uuid'
import type { Clock } from '../clock.js'
import type { Database, DbClient } from '../db/prisma.js'
import { ProblemError } from '../errors/problem.js'
import type { AuthEventRepository, AuthEventType, EventDetails } from '../events/auth-event-repository.js'
import { personalWords } from '../auth/password-check.js'
import type { PasswordHasher } from '../auth/password-hasher.js'
import type { PasswordStrengthChecker } from '../auth/password-strength.js'
import { describeClient, type Caller } from '../sessions/client-description.js'
import { livenessAt, type LiveSession, type SessionRepository } from '../sessions/session-repository.js'
import type { Role } from '../tokens/claims.js'
import { normalizeEmail } from '../users/email-address.js'
import type { UserRepository } from '../users/user-repository.js'
import { decodeUserCursor, encodeUserCursor } from './user-cursor.js'
import type { DirectoryChange, DirectoryUser, UserDirectoryRepository } from './user-directory-repository.js'

/** Who does an admin action: an admin through the API, or an operator's shell (npm run user:*). */
export type Actor = { kind: 'admin'; id: string; caller: Caller } | { kind: 'cli' }

export interface AdminUser {
  id: string
  email: string
  role: Role
  emailVerified: boolean
  disabled: boolean
  disabledAt: Date | null
  disabledReason: string | null
  createdAt: Date
  lastLoginAt: Date | null
  /** How many live sessions the user has now. */
  sessions: number
}

export interface AdminUserPatch {
  role?: Role
  disabled?: boolean
  disabledReason?: string
}

export interface AdminServiceDeps {
  directory: UserDirectoryRepository
  users: Pick<UserRepository, 'findById' | 'lockById' | 'findByEmail' | 'create' | 'bumpSessionEpoch' | 'delete'>
  sessions: Pick<SessionRepository, 'listLive' | 'countLive' | 'findLive'>
  events: Pick<AuthEventRepository, 'record'>
  transaction: Database['transaction']
  passwords: Pick<PasswordHasher, 'hash'>
  strength: Pick<PasswordStrengthChecker, 'check'>
  clock: Clock
  refreshIdleTimeoutSeconds: number
}

const notFound = () => new ProblemError('not_found', 'There is no user with this id')
const forbidden = () => new ProblemError('forbidden', 'Only an enabled admin may do this')
const lastAdmin = () => new ProblemError('last_admin', 'This is the last enabled admin: promote another user first')

/**
 * The operator's side of accounts: find users, change role and status, end sessions, delete. Every
 * change and its event are one transaction; a change that could leave no enabled admin first locks all
 * of them, so two such changes take turns and the second is refused.
 */
export function createAdminService(deps: AdminServiceDeps) {
  const { directory, users, sessions, events, transaction, clock } = deps
  const liveNow = () => livenessAt(clock.now(), deps.refreshIdleTimeoutSeconds)

  const viewOf = (user: DirectoryUser, liveSessions: number): AdminUser => ({
    id: user.id,
    email: user.email,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt,
    disabledReason: user.disabledReason,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt,
    sessions: liveSessions,
  })

  async function viewById(id: string, tx?: DbClient): Promise<AdminUser> {
    const user = await directory.findById(id, tx)
    if (!user) throw notFound()
    const counts = await sessions.countLive([id], liveNow(), tx)
    return viewOf(user, counts.get(id) ?? 0)
  }

  function record(tx: DbClient, type: AuthEventType, actor: Actor, userId: string | null, details: EventDetails = {}) {
    const client = actor.kind === 'admin' ? describeClient(actor.caller) : { ip: null, device: 'npm run user:*' }
    const who = actor.kind === 'admin' ? { actor: 'admin', actorId: actor.id } : { actor: 'cli', actorId: null }
    return events.record({ type, userId, ip: client.ip, device: client.device, at: new Date(clock.now()), details: { ...who, ...details } }, tx)
  }

  /** The target, locked; refused when the change would take away the last enabled admin. */
  async function lockTarget(id: string, removesAdmin: boolean, tx: DbClient) {
    // The admins first, always in the same order: two such changes never hold locks the other needs.
    const admins = removesAdmin ? await directory.lockEnabledAdmins(tx) : []
    const user = await users.lockById(id, tx)
    if (!user) throw notFound()
    if (removesAdmin && admins.includes(id) && admins.length === 1) throw lastAdmin()
    return user
  }

  return {
    /**
     * Admin power is re-checked in the database on every admin request: a demoted or disabled admin, or
     * one whose session has ended, is refused at once, whatever their access token still says.
     */
    async authorize(userId: string, sessionId: string): Promise<void> {
      const user = await users.findById(userId)
      if (!user || user.role !== 'admin' || user.disabledAt !== null) throw forbidden()
      if (!sessionId || !(await sessions.findLive(userId, sessionId, liveNow()))) throw forbidden()
    },

    async listUsers(page: { query?: string; cursor?: string; limit: number }): Promise<{ items: AdminUser[]; nextCursor: string | null }> {
      const afterEmail = page.cursor === undefined ? undefined : decodeUserCursor(page.cursor)
      const prefix = page.query === undefined ? undefined : normalizeEmail(page.query)
      const rows = await directory.search({ prefix, afterEmail, limit: page.limit + 1 })
      const found = rows.slice(0, page.limit)
      const counts = await sessions.countLive(
        found.map((user) => user.id),
        liveNow(),
      )
      const last = found.at(-1)
      return {
        items: found.map((user) => viewOf(user, counts.get(user.id) ?? 0)),
        nextCursor: rows.length > page.limit && last ? encodeUserCursor(last.email) : null,
      }
    },

    async getUser(id: string): Promise<AdminUser & { liveSessions: LiveSession[] }> {
      const user = await directory.findById(id)
      if (!user) throw notFound()
      const live = await sessions.listLive(id, liveNow())
      return { ...viewOf(user, live.length), liveSessions: live }
    },

    /** Role and status changes; disabling ends every session in the same transaction. */
    async updateUser(actor: Actor, id: string, patch: AdminUserPatch): Promise<AdminUser> {
      return transaction(async (tx) => {
        await lockTarget(id, patch.role === 'user' || patch.disabled === true, tx)
        // Read under the lock: what the change is measured against.
        const current = (await directory.findById(id, tx))!
        const change: DirectoryChange = {}
        const details: EventDetails = {}
        if (patch.role !== undefined && patch.role !== current.role) {
          change.role = patch.role
          Object.assign(details, { role: patch.role, previousRole: current.role })
        }
        const disabled = current.disabledAt !== null
        if (patch.disabled === true && !disabled) {
          change.disabledAt = new Date(clock.now())
          change.disabledReason = patch.disabledReason ?? null
          Object.assign(details, { disabled: true, reason: patch.disabledReason ?? null })
        } else if (patch.disabled === false && disabled) {
          change.disabledAt = null
          Object.assign(details, { disabled: false })
        } else if (patch.disabledReason !== undefined && (patch.disabled ?? disabled) && patch.disabledReason !== current.disabledReason) {
          change.disabledReason = patch.disabledReason
          Object.assign(details, { reason: patch.disabledReason })
        }
        // Nothing to change: no write, no event.
        if (Object.keys(details).length > 0) {
          await directory.update(id, change, tx)
          await record(tx, 'admin_user_updated', actor, id, details)
        }
        return viewById(id, tx)
      })
    },

    /** Ends every session of the user (the epoch moves on); the account stays as it is. */
    async revokeSessions(actor: Actor, id: string): Promise<void> {
      await transaction(async (tx) => {
        await lockTarget(id, false, tx)
        await users.bumpSessionEpoch(id, tx)
        await record(tx, 'admin_sessions_revoked', actor, id)
      })
    },

    /** Deletes the account and what belongs to it (ON DELETE CASCADE); the event stays, holding no address. */
    async deleteUser(actor: Actor, id: string): Promise<void> {
      await transaction(async (tx) => {
        await lockTarget(id, true, tx)
        await users.delete(id, tx)
        await record(tx, 'admin_user_deleted', actor, null, { userId: id })
      })
    },

    /**
     * An account made by an operator (npm run user:create): the same strength check and hashing as
     * registration. The address counts as verified: the operator vouches for it, and no mail is sent.
     */
    async createUser(actor: Actor, input: { email: string; password: string; role: Role }): Promise<AdminUser> {
      const email = normalizeEmail(input.email)
      await deps.strength.check(input.password, personalWords(email))
      const passwordHash = await deps.passwords.hash(input.password)
      return transaction(async (tx) => {
        const id = uuidv7()
        const created = await users.create({ id, email, passwordHash, role: input.role, emailVerifiedAt: new Date(clock.now()) }, tx)
        if (!created) throw new ProblemError('email_taken', 'An account with this email already exists')
        await record(tx, 'admin_user_created', actor, id, { role: input.role })
        return viewById(id, tx)
      })
    },

    /** The user behind an address, for the shell commands that name users by email. */
    async idOfEmail(email: string): Promise<string> {
      const user = await users.findByEmail(normalizeEmail(email))
      if (!user) throw new ProblemError('not_found', `There is no user with the email ${normalizeEmail(email)}`)
      return user.id
    },
  }
}

export type AdminService = ReturnType<typeof createAdminService>
