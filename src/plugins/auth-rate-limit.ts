import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ProblemError } from '../errors/problem.js'

/**
 * The overall per-IP request budget of the /auth/* routes (@fastify/rate-limit). Registered inside the
 * scope of those routes only (fastify-plugin lifts it into that scope, not the whole app). Counters live in Redis when the app has one (shared by every instance),
 * otherwise in process memory; if Redis fails, requests are let through rather than refused.
 */
async function authRateLimit(app: FastifyInstance, options: { perMinute: number }) {
  await app.register(fastifyRateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    redis: app.redis,
    nameSpace: 'jwt-auth-api:auth-requests:',
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new ProblemError('rate_limited', `Too many requests to /auth from this address; retry in ${context.after}`, {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  })
}

export default fp(authRateLimit, { name: 'auth-rate-limit', dependencies: ['redis'] })
