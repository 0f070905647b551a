import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, type AccessClaims } from '../tokens/claims.js'
import { createTokenIssuer, type SignFn, type TokenIssuer } from '../tokens/token-issuer.js'
import { createTokenVerifier, type TokenVerifier } from '../tokens/token-verifier.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    namespaces: 'access' | 'refresh'
    user: AccessClaims
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: { issuer: TokenIssuer; verifier: TokenVerifier }
  }
}

export interface TokensOptions {
  jwt: Config['jwt']
  accessCacheSize: number
  clock: Clock
}

/**
 * Signing goes through @fastify/jwt, one namespace per token type so each has its own `typ`.
 * Verification is our own, so the plugin gets no verify options: tokens are checked against the key their `kid` names (several keys during a
 * rotation), with the signature check on libuv's thread pool instead of the event loop, and verified
 * access tokens cached until they expire. @fastify/jwt's verify (fast-jwt) is synchronous and, with keys
 * chosen per token, re-parses the key on every call (see src/tokens/token-verifier.ts).
 */
async function tokens(app: FastifyInstance, options: TokensOptions) {
  const { keys, issuer, audience } = options.jwt
  const current = keys.verification.get(keys.signing.kid)
  const register = (namespace: 'access' | 'refresh', typ: string) =>
    app.register(fastifyJwt, {
      namespace,
      secret: { private: keys.signing.key, public: current?.key ?? keys.signing.key },
      // `typ` is a fast-jwt signer option that @fastify/jwt passes through but does not declare.
      sign: { algorithm: keys.signing.algorithm, kid: keys.signing.kid, iss: issuer, aud: audience, ...{ typ } },
    })
  await register('access', ACCESS_TOKEN_TYPE)
  await register('refresh', REFRESH_TOKEN_TYPE)

  if (keys.ephemeral) {
    app.log.warn(
      'No signing key configured: generated an ephemeral key for this process. Tokens will not survive a restart ' +
        'and other instances will not accept them. Set JWT_PRIVATE_KEY (or JWT_SECRET for HS256) outside development.',
    )
  }

  const signWith = (namespace: 'access' | 'refresh'): SignFn => (payload) => app.jwt[namespace].sign(payload)
  app.decorate('tokens', {
    issuer: createTokenIssuer({
      signAccess: signWith('access'),
      signRefresh: signWith('refresh'),
      accessTtlSeconds: options.jwt.accessTtlSeconds,
      clock: options.clock,
    }),
    verifier: createTokenVerifier({
      keys,
      issuer,
      audience,
      clockToleranceSeconds: options.jwt.clockToleranceSeconds,
      accessCacheSize: options.accessCacheSize,
      clock: options.clock,
    }),
  })
}

export default fp(tokens, { name: 'tokens' })
