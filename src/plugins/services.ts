import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createAuthService, type AuthService } from '../auth/auth-service.js'
import { createLoginThrottle } from '../auth/login-throttle.js'
import { createPasswordHasher } from '../auth/password-hasher.js'
import { createPasswordStrengthChecker } from '../auth/password-strength.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { createRevokedTokenRepository } from '../tokens/revoked-token-repository.js'
import { createDenylistPruner, type DenylistPruner } from '../tokens/denylist-pruner.js'
import { createUserRepository } from '../users/user-repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService
    pruner: DenylistPruner
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
  const revocations = createRevokedTokenRepository(app.db.prisma)
  const passwords = createPasswordHasher({
    cost: config.passwords.bcryptCost,
    concurrency: options.passwordConcurrency,
    maxQueue: options.passwordQueue,
  })
  const strength = createPasswordStrengthChecker({ minScore: config.passwords.minScore })
  app.addHook('onClose', async () => {
    await Promise.all([strength.close(), passwords.close()])
  })
  const throttle = createLoginThrottle({
    perAccount: config.limits.loginFailuresPerAccount,
    perAccountAllAddresses: config.limits.loginFailuresPerAccountAllIps,
    perIp: config.limits.loginFailuresPerIp,
    windowSeconds: config.limits.loginFailureWindowSeconds,
    redis: app.redis,
  })
  app.decorate(
    'auth',
    createAuthService({
      users: createUserRepository(app.db.prisma),
      revocations,
      passwords,
      strength,
      throttle,
      issuer: app.tokens.issuer,
      verifier: app.tokens.verifier,
      clock,
      lifetimes: config.jwt,
    }),
  )
  app.decorate('pruner', createDenylistPruner({ revocations, clock }))
  // The dummy hash for unknown accounts is ready before the first login arrives.
  await passwords.warmUp()
}

export default fp(services, { name: 'services', dependencies: ['database', 'tokens', 'redis'] })
