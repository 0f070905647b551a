import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { availableParallelism } from 'node:os'
import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config.js'
import authenticate from './plugins/authenticate.js'
import database from './plugins/database.js'
import errorHandler from './plugins/error-handler.js'
import mail from './plugins/mail.js'
import openapi from './plugins/openapi.js'
import { clientErrorHandler } from './plugins/client-errors.js'
import pruneJob from './plugins/prune-job.js'
import authRateLimit from './plugins/auth-rate-limit.js'
import redis from './plugins/redis.js'
import security from './plugins/security.js'
import { zodToFastJsonSerializer } from './plugins/serializer.js'
import services from './plugins/services.js'
import tokens from './plugins/tokens.js'
import accountRoutes from './routes/account.js'
import adminRoutes from './routes/admin.js'
import authRoutes from './routes/auth.js'
import healthRoutes from './routes/health.js'
import meRoutes from './routes/me.js'
import sessionRoutes from './routes/sessions.js'
import wellKnownRoutes from './routes/well-known.js'

export interface AppOptions {
  clock?: Clock
  logger?: FastifyServerOptions['logger']
}

// Logs never carry credentials, whatever the log level.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refreshToken',
  '*.accessToken',
]

/** A caller's X-Request-Id is kept for tracing across services when it is a plausible id; else a new UUID. */
function requestIdOf(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && /^[\w.:-]{1,64}$/.test(incoming) ? incoming : randomUUID()
}

/** Builds the whole API without listening, so tests can drive it with inject(). */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const clock = options.clock ?? systemClock
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    // Auth bodies are tiny; anything bigger is refused before it is parsed.
    bodyLimit: 16 * 1024,
    requestIdHeader: false,
    genReqId: requestIdOf,
    routerOptions: { maxParamLength: 200 },
    trustProxy: config.http.trustProxy,
    // Requests Node cannot even parse (oversized or malformed headers) still get a problem document.
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>()

  // JSON only: without this, text/plain bodies would reach validation instead of getting a 415.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(zodToFastJsonSerializer)
  // While closing, in-flight answers end their keep-alive connection, so close() never waits for a
  // client's idle socket to time out (Fastify only drops connections that are idle when close starts).
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  await app.register(errorHandler)
  await app.register(security, { corsOrigins: config.http.corsOrigins })
  await app.register(fastifyCookie)
  await app.register(openapi)
  await app.register(database, { database: config.database })
  await app.register(redis, { url: config.limits.redisUrl })
  await app.register(tokens, { jwt: config.jwt, accessCacheSize: config.accessTokenCacheSize, clock })
  await app.register(authenticate)
  await app.register(mail, { mail: config.mail, clock })
  await app.register(services, {
    config,
    clock,
    // One bcrypt at a time per spare core keeps a core free for everything else.
    passwordConcurrency: Math.max(1, availableParallelism() - 1),
    passwordQueue: 16,
  })
  await app.register(pruneJob, { intervalSeconds: config.database.pruneIntervalSeconds })

  // Every /auth/* route counts against one per-IP budget; /me and the rest do not.
  await app.register(async (auth) => {
    await auth.register(authRateLimit, { perMinute: config.limits.authRequestsPerMinute })
    await auth.register(authRoutes, { cookieSecure: config.http.cookieSecure })
    await auth.register(accountRoutes)
  })
  await app.register(meRoutes)
  await app.register(sessionRoutes)
  await app.register(adminRoutes, { perMinute: config.limits.adminRequestsPerMinute })
  await app.register(wellKnownRoutes, { jwks: config.jwt.keys.jwks, maxAgeSeconds: config.jwt.jwksMaxAgeSeconds })
  await app.register(healthRoutes, { checkDatabaseReady: () => app.db.checkReady() })
  return app
}
