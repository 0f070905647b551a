import type { IncomingMessage, ServerResponse } from 'node:http'
import fastifyCors from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

export interface SecurityOptions {
  /** Exact origins allowed to call the API from a browser, with credentials (cookie transport). */
  corsOrigins: string[]
}

/** What helmet is told; bench/ and the tests hand the same options to @fastify/helmet for comparison. */
export const HELMET_OPTIONS: HelmetOptions = {
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
}

/**
 * The headers helmet sets for this configuration, computed once. @fastify/helmet builds a new helmet
 * middleware (and re-parses the CSP) on every request, which halves the rate of a trivial route
 * (bench/README.md); our headers never vary per request, so helmet runs once at start-up against a
 * recording response, and each reply gets the recorded set. A test checks that the set is exactly what
 * @fastify/helmet sends.
 */
function helmetHeaders(options: HelmetOptions = HELMET_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()]
    },
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined)
  return headers
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/**
 * onRequest hook for routes whose answers carry tokens or personal data: no cache, shared or private,
 * may keep them (RFC 6749 §5.1, RFC 9111; Pragma for HTTP/1.0 caches). Errors of those routes too.
 */
export function noStore(_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.headers(NO_STORE)
  done()
}

async function security(app: FastifyInstance, options: SecurityOptions) {
  const headers = helmetHeaders()
  app.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    reply.headers(headers)
    done()
  })

  const allowed = new Set(options.corsOrigins)
  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Requested-With', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'WWW-Authenticate'],
    // Browsers cache the preflight for this long (Chromium caps it at 2 hours).
    maxAge: 7200,
  })
}

export default fp(security, { name: 'security' })
