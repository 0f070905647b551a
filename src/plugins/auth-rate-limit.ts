import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ProblemError } from '../errors/problem.js'
import { clientAddressKey } from '../http/client-address.js'

/**
 * The overall per-address request budget of the /auth/* routes, or of the /admin/* routes, each counted
 * on its own (@fastify/rate-limit). Registered inside
 * the scope of those routes only (fastify-plugin lifts it into that scope, not the whole app). Counters
 * live in Redis when the app has one (shared by every instance), otherwise in process memory; if Redis
 * fails, requests are let through rather than refused.
 */
async function authRateLimit(app: FastifyInstance, options: { perMinute: number; scope?: 'auth' | 'admin' }) {
  const scope = options.scope ?? 'auth'
  await app.register(fastifyRateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    redis: app.redis,
    nameSpace: `jwt-auth-api:${scope}-requests:`,
    skipOnError: true,
    // IPv6 by /64, as the login limits count: one host cannot mint itself fresh budgets.
    keyGenerator: (request) => clientAddressKey(request.ip),
    errorResponseBuilder: (_request, context) =>
      new ProblemError('rate_limited', `Too many requests to /${scope} from this address; retry in ${context.after}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  })
}

export default fp(authRateLimit, { name: 'auth-rate-limit', dependencies: ['redis'] })
