import fastifyCors from '@fastify/cors'
import fastifyHelmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface SecurityOptions {
  /** Exact origins allowed to call the API from a browser, with credentials (cookie transport). */
  corsOrigins: string[]
}

async function security(app: FastifyInstance, options: SecurityOptions) {

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // Swagger UI at /docs uses inline styles and data: images; nothing else here serves HTML.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        scriptSrc: ["'self'"],
        frameAncestors: ["'none'"],
        // TLS is the terminator's job; upgrading here would break /docs on a plain-HTTP dev server.
        upgradeInsecureRequests: null,
      },
    },
  })
  const allowed = new Set(options.corsOrigins)
  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Requested-With', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
    // Browsers cache the preflight for this long (Chromium caps it at 2 hours).
    maxAge: 7200,
  })
}

export default fp(security, { name: 'security' })
