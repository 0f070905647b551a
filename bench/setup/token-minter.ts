import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { v7 as uuidv7 } from 'uuid'

/** The asymmetric algorithms the bench can run the server with (HS256 has no public key to publish). */
export type BenchAlgorithm = 'EdDSA' | 'ES256' | 'RS256'

export interface SigningKey {
  algorithm: BenchAlgorithm
  privateKeyPem: string
  publicKeyPem: string
}

function generatePair(algorithm: BenchAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case 'EdDSA':
      return generateKeyPairSync('ed25519')
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 })
  }
}

/** A fresh key for the bench server (JWT_PRIVATE_KEY), kept here so the harness can sign too. */
export function generateSigningKey(algorithm: BenchAlgorithm): SigningKey {
  const { privateKey, publicKey } = generatePair(algorithm)
  return {
    algorithm,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  }
}

export interface MintingKey {
  algorithm: BenchAlgorithm
  privateKeyPem: string
  kid: string
  /** REFRESH_TOKEN_SECRET and its kid: refresh tokens are HS256 whatever the access algorithm. */
  refreshSecret: string
  refreshKid: string
  issuer: string
  audience: string
}

export interface TokenSubject {
  id: string
  email: string
  role: 'user' | 'admin'
}

/**
 * Signs tokens the server accepts as its own, exactly as src/tokens/token-issuer.ts and the @fastify/jwt
 * signers of src/plugins/tokens.ts make them: the server's algorithm, header typ and kid, claims iss and
 * aud plus the token type's own claims. Minting here instead of logging in is what makes 60,000 distinct
 * tokens cheap.
 */
export function createTokenMinter(key: MintingKey) {
  // `typ` is a fast-jwt signer option its types do not declare (src/plugins/tokens.ts passes it the same way).
  const claims = { iss: key.issuer, aud: key.audience }
  const signAccess = createSigner({ key: key.privateKeyPem, algorithm: key.algorithm, kid: key.kid, ...claims, ...{ typ: 'at+jwt' } })
  const signRefresh = createSigner({ key: key.refreshSecret, algorithm: 'HS256', kid: key.refreshKid, ...claims, ...{ typ: 'refresh+jwt' } })
  const nowSeconds = () => Math.floor(Date.now() / 1000)

  return {
    access(user: TokenSubject, ttlSeconds: number): string {
      const iat = nowSeconds()
      return signAccess({ sub: user.id, email: user.email, role: user.role, email_verified: false, jti: randomUUID(), iat, exp: iat + ttlSeconds })
    },

    /** A refresh token of a login of its own (a new family), as a login right now would issue it. */
    refresh(userId: string, ttlSeconds: number): string {
      const iat = nowSeconds()
      return signRefresh({ sub: userId, fid: uuidv7(), jti: randomUUID(), iat, exp: iat + ttlSeconds })
    },
  }
}

export type TokenMinter = ReturnType<typeof createTokenMinter>
