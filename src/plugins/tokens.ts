import { createPrivateKey, createSecretKey } from 'node:crypto'
import type {} from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, type AccessClaims } from '../tokens/claims.js'
import { createJwtSigner } from '../tokens/jwt-signer.js'
import { createTokenIssuer, type TokenIssuer } from '../tokens/token-issuer.js'
import { createTokenVerifier, type TokenVerifier } from '../tokens/token-verifier.js'

// request.user keeps @fastify/jwt's typing, which the compatibility tests' apps also load.
declare module '@fastify/jwt' {
  interface FastifyJWT {
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
 * Signing and verification are our own (src/tokens/), both with the signature work on libuv's thread
 * pool instead of the event loop: fast-jwt (under @fastify/jwt) signs and verifies synchronously, and with
 * keys chosen per token re-parses the key on every call. Tokens are checked against the key their `kid`
 * names (several during a rotation), and verified access tokens are cached until they expire.
 */
async function tokens(app: FastifyInstance, options: TokensOptions) {
  const { keys, refreshKeys, issuer, audience } = options.jwt
  const { algorithm, kid, key } = keys.signing
  const signingKey = Buffer.isBuffer(key) ? createSecretKey(key) : createPrivateKey(key)
  const signAccess = createJwtSigner({ algorithm, key: signingKey, kid, typ: ACCESS_TOKEN_TYPE, issuer, audience })
  // Only this service reads refresh tokens: an HMAC under its own secret, a few µs instead of an RSA signature.
  const signRefresh = createJwtSigner({ algorithm: 'HS256', ...refreshKeys.signing, typ: REFRESH_TOKEN_TYPE, issuer, audience })

  if (keys.ephemeral) {
    app.log.warn(
      'No signing key configured: generated an ephemeral key for this process. Tokens will not survive a restart ' +
        'and other instances will not accept them. Set JWT_PRIVATE_KEY (or JWT_SECRET for HS256) outside development.',
    )
  }
  if (refreshKeys.ephemeral) {
    app.log.warn(
      'No REFRESH_TOKEN_SECRET configured: generated one for this process. Refresh tokens will not survive a restart ' +
        'and other instances will not accept them. Set REFRESH_TOKEN_SECRET outside development.',
    )
  }

  // Declared up front so every request has the same shape; `authenticate` sets it before a route reads it.
  app.decorateRequest('user', null, [])
  app.decorate('tokens', {
    issuer: createTokenIssuer({
      signAccess,
      signRefresh,
      accessTtlSeconds: options.jwt.accessTtlSeconds,
      clock: options.clock,
    }),
    verifier: createTokenVerifier({
      keys,
      refreshKeys,
      issuer,
      audience,
      clockToleranceSeconds: options.jwt.clockToleranceSeconds,
      accessCacheSize: options.accessCacheSize,
      clock: options.clock,
    }),
  })
}

export default fp(tokens, { name: 'tokens' })
