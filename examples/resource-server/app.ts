// A resource server: another service of yours that accepts this API's access tokens without calling it.
// It verifies each token's signature against the published JWK Set (@fastify/jwt + get-jwks, Fastify's
// own recipe), then iss, aud, typ and exp. See README.md.
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import buildGetJwks from 'get-jwks'

export interface ResourceServerOptions {
  /** Where the auth API serves /.well-known/jwks.json, e.g. https://auth.example.com */
  authServerUrl: string
  /** The auth API's JWT_ISSUER and JWT_AUDIENCE. */
  issuer: string
  audience: string
  /**
   * A token naming a key we have never verified with makes us fetch the set again, at most once per this
   * many milliseconds: a flood of made-up `kid`s cannot turn into a flood of requests to the auth API.
   */
  unknownKeyCooldownMs?: number
  /** How long a fetched key is kept; keep it at or below the JWKS max-age (JWKS_MAX_AGE_SECONDS). */
  keyCacheTtlMs?: number
  logger?: FastifyServerOptions['logger']
}

/** The access-token claims this service uses (README, "Verifying tokens in your other services"). */
interface AccessClaims {
  sub: string
  email: string
  role: 'user' | 'admin'
}

class UnknownKeyError extends Error {}

// Asymmetric algorithms only: a public key must never be usable as an HMAC secret.
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const

export function buildResourceServer(options: ResourceServerOptions): FastifyInstance {
  const { issuer, audience, unknownKeyCooldownMs = 30_000 } = options
  const domain = options.authServerUrl.endsWith('/') ? options.authServerUrl : `${options.authServerUrl}/`
  const getJwks = buildGetJwks({ ttl: options.keyCacheTtlMs ?? 60_000, max: 100 })
  // Keys that verified once may be fetched again at any time (their cache entry expired); any other kid
  // only after the cool-down. Only kids the auth API really published get in here.
  const knownKids = new Set<string>()
  let lastMissAt = Number.NEGATIVE_INFINITY

  async function publicKeyFor(kid: unknown, alg: unknown): Promise<string> {
    if (typeof kid !== 'string' || typeof alg !== 'string') throw new UnknownKeyError('no kid or alg')
    // Before any fetch: a token of another algorithm (the auth API's HS256 refresh tokens) is never ours to verify.
    if (!(ALGORITHMS as readonly string[]).includes(alg)) throw new UnknownKeyError(`algorithm ${alg} is not accepted`)
    const cached = getJwks.cache.get(getJwks.generateCacheKey(alg, kid, domain)) !== undefined
    if (!cached && !knownKids.has(kid) && Date.now() - lastMissAt < unknownKeyCooldownMs) {
      throw new UnknownKeyError(`unknown kid ${kid}; not refetching the JWK Set yet`)
    }
    try {
      const pem = await getJwks.getPublicKey({ domain, kid, alg })
      knownKids.add(kid)
      return pem
    } catch (error) {
      if ((error as { code?: string }).code === 'JWK_NOT_FOUND') lastMissAt = Date.now()
      throw error
    }
  }

  const app = Fastify({ logger: options.logger ?? false })
  app.register(fastifyJwt, {
    decode: { complete: true },
    secret: (_request: FastifyRequest, token: unknown) => {
      const { header } = token as { header: { kid?: unknown; alg?: unknown } }
      return publicKeyFor(header.kid, header.alg)
    },
    verify: {
      algorithms: [...ALGORITHMS],
      allowedIss: issuer,
      allowedAud: audience,
      // RFC 9068: only access tokens; the auth API's refresh tokens carry typ refresh+jwt.
      checkTyp: 'at+jwt',
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5_000,
    },
  })

  // Every failure (bad signature, expired, wrong iss/aud/typ, unknown key, JWKS unreachable) is a 401.
  async function authenticate(request: FastifyRequest, reply: FastifyReply) {
    try {
      await request.jwtVerify()
    } catch (error) {
      request.log.info({ reason: (error as Error).message }, 'token refused')
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer error="invalid_token"')
        .send({ error: 'invalid_token' })
    }
  }

  app.register(async (protectedRoutes) => {
    protectedRoutes.addHook('onRequest', authenticate)
    protectedRoutes.get('/hello', async (request) => {
      const user = request.user as unknown as AccessClaims
      return { hello: user.email, sub: user.sub, role: user.role }
    })
  })
  return app
}
