import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createAdminService, type AdminService } from '../admin/admin-service.js'
import { createUserDirectoryRepository } from '../admin/user-directory-repository.js'
import { createAccountLinkRepository } from '../account/account-link-repository.js'
import { createAccountService, type AccountService } from '../account/account-service.js'
import { createMailBudget } from '../account/mail-budget.js'
import { createAuthService, type AuthService } from '../auth/auth-service.js'
import { createLoginThrottle } from '../auth/login-throttle.js'
import { createPasswordCheck } from '../auth/password-check.js'
import { createPasswordHasher } from '../auth/password-hasher.js'
import { createPasswordStrengthChecker } from '../auth/password-strength.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { createAuthEventRepository } from '../events/auth-event-repository.js'
import { createDetachedEventWriter, type DetachedEventWriter } from '../events/detached-event-writer.js'
import { createEventFeed, type EventFeed } from '../events/event-feed.js'
import { createPruner, pruneTablesOf, type Pruner } from '../maintenance/pruner.js'
import { createSessionRepository } from '../sessions/session-repository.js'
import { createSessionService, type SessionService } from '../sessions/session-service.js'
import { createRevokedTokenRepository } from '../tokens/revoked-token-repository.js'
import { createUserRepository } from '../users/user-repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService
    accounts: AccountService
    admin: AdminService
    sessions: SessionService
    eventFeed: EventFeed
    /** Security events written without a transaction (failed and throttled logins). */
    detachedEvents: DetachedEventWriter
    pruner: Pruner
  }
}

export interface ServicesOptions {
  config: Config
  clock: Clock
  passwordConcurrency: number
  passwordQueue: number
}

/** Wires repositories into services; routes only ever see the services. */
async function services(app: FastifyInstance, options: ServicesOptions) {
  const { config, clock } = options
  const users = createUserRepository(app.db.prisma)
  const revocations = createRevokedTokenRepository(app.db.prisma)
  const links = createAccountLinkRepository(app.db.prisma)
  const sessions = createSessionRepository(app.db.prisma)
  const events = createAuthEventRepository(app.db.prisma)
  const transaction: typeof app.db.transaction = (work, txOptions) => app.db.transaction(work, txOptions)
  const mailQueued = () => app.mail.delivery.nudge()
  // A stalled database holds at most this many failed-login writes; the rest are dropped and counted.
  const detachedEvents = createDetachedEventWriter({ events, log: app.log, clock, maxInFlight: config.database.poolSize })
  app.decorate('detachedEvents', detachedEvents)
  const passwords = createPasswordHasher({
    cost: config.passwords.bcryptCost,
    concurrency: options.passwordConcurrency,
    maxQueue: options.passwordQueue,
  })
  const strength = createPasswordStrengthChecker({ minScore: config.passwords.minScore })
  app.addHook('onClose', async () => {
    await Promise.all([strength.close(), passwords.close(), detachedEvents.settled()])
  })
  const throttle = createLoginThrottle({
    perAccount: config.limits.loginFailuresPerAccount,
    perAccountAllAddresses: config.limits.loginFailuresPerAccountAllIps,
    perIp: config.limits.loginFailuresPerIp,
    windowSeconds: config.limits.loginFailureWindowSeconds,
    redis: app.redis,
  })
  const checkPassword = createPasswordCheck({ users, passwords, throttle })
  app.decorate(
    'auth',
    createAuthService({
      users,
      revocations,
      sessions,
      events,
      detachedEvents,
      outbox: app.mail.outbox,
      mailQueued,
      transaction,
      checkPassword,
      issuer: app.tokens.issuer,
      verifier: app.tokens.verifier,
      clock,
      lifetimes: config.jwt,
      loginRequiresVerifiedEmail: config.account.loginRequiresVerifiedEmail,
      notifyNewDevice: config.account.notifyNewDevice,
    }),
  )
  app.decorate(
    'sessions',
    createSessionService({
      sessions,
      revocations,
      events,
      transaction,
      clock,
      refreshIdleTimeoutSeconds: config.jwt.refreshIdleTimeoutSeconds,
    }),
  )
  app.decorate('eventFeed', createEventFeed({ events }))
  app.decorate(
    'accounts',
    createAccountService({
      users,
      links,
      outbox: app.mail.outbox,
      events,
      mailQueued,
      transaction,
      passwords,
      checkPassword,
      strength,
      budget: createMailBudget({ perHour: config.account.mailsPerAddressPerHour, redis: app.redis }),
      clock,
      settings: {
        appUrl: config.mail.appUrl,
        linkTtlSeconds: config.account.linkTtlSeconds,
        mailRequestMinResponseMs: config.account.mailRequestMinResponseMs,
      },
    }),
  )
  app.decorate(
    'admin',
    createAdminService({
      directory: createUserDirectoryRepository(app.db.prisma),
      users,
      sessions,
      events,
      transaction,
      passwords,
      strength,
      clock,
      refreshIdleTimeoutSeconds: config.jwt.refreshIdleTimeoutSeconds,
    }),
  )
  const tables = pruneTablesOf(
    { revocations, links, outbox: app.mail.outbox, sessions, events },
    { eventRetentionDays: config.database.authEventRetentionDays },
  )
  app.decorate('pruner', createPruner({ tables, clock }))
  // The dummy hash for unknown accounts is ready before the first login arrives.
  await passwords.warmUp()
}

export default fp(services, { name: 'services', dependencies: ['database', 'tokens', 'redis', 'mail'] })
