import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'

export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]
/** JWT_ALGORITHM when unset, and so the algorithm of the development ephemeral key. */
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'RS256'

export interface KeyMaterial {
  algorithm: SigningAlgorithm
  /** PEM or JSON JWK of the signing key (asymmetric algorithms). */
  privateKey?: string
  /** The shared secret (HS256). */
  secret?: string
  keyId?: string
  /** JSON JWK Set of retired keys that still verify until their tokens expire. */
  verifyKeys?: string
}

export class KeySetError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '))
    this.name = 'KeySetError'
  }
}

/** A key that verifies tokens, found by the `kid` in their header. */
export interface VerificationKey {
  kid: string
  algorithm: SigningAlgorithm
  /** PEM (public key) or raw secret, in the form @fastify/jwt takes. */
  key: string | Buffer
  /** The same key, parsed once, for node:crypto. */
  keyObject: KeyObject
  /** The public JWK served at /.well-known/jwks.json; absent for HS256 secrets. */
  publicJwk?: JsonWebKey
}

export interface KeySet {
  signing: {
    kid: string
    algorithm: SigningAlgorithm
    /** PEM private key, or the raw HS256 secret. */
    key: string | Buffer
  }
  /** The signing key's own verification key plus every retired key that still verifies. */
  verification: Map<string, VerificationKey>
  jwks: { keys: JsonWebKey[] }
  /** True when no key was configured and one was generated for this process only. */
  ephemeral: boolean
}

// RFC 7638: the thumbprint hashes the required members only, in lexicographic order.
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  OKP: ['crv', 'kty', 'x'],
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
}

export function jwkThumbprint(jwk: JsonWebKey): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? '']
  if (!members) throw new Error(`unsupported JWK key type ${jwk.kty}`)
  const canonical = JSON.stringify(Object.fromEntries(members.map((name) => [name, jwk[name]])))
  return createHash('sha256').update(canonical).digest('base64url')
}

/** The algorithm a key can sign with. One algorithm per key type, so no key is ever accepted under two. */
function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.type === 'secret') return 'HS256'
  const type = key.asymmetricKeyType
  if (type === 'ed25519') return 'EdDSA'
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  if (type === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error('RSA keys must have at least 2048 bits')
    return 'RS256'
  }
  throw new Error(`unsupported key type ${type}${type === 'ec' ? ` (${key.asymmetricKeyDetails?.namedCurve})` : ''}`)
}

function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) return createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
  return createPrivateKey(trimmed)
}

function verificationKeyFromPublic(publicKey: KeyObject, kid?: string): VerificationKey {
  const algorithm = algorithmOf(publicKey)
  const publicJwk = publicKey.export({ format: 'jwk' })
  const id = kid ?? jwkThumbprint(publicJwk)
  return {
    kid: id,
    algorithm,
    key: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyObject: publicKey,
    publicJwk: { ...publicJwk, kid: id, alg: algorithm, use: 'sig' },
  }
}

export function verificationKeyFromSecret(secret: Buffer, kid?: string): VerificationKey {
  if (secret.length < 32) throw new Error('HS256 secrets must be at least 32 bytes')
  const id = kid ?? jwkThumbprint({ kty: 'oct', k: secret.toString('base64url') })
  return { kid: id, algorithm: 'HS256', key: secret, keyObject: createSecretKey(secret) }
}

/**
 * A JWK Set (`{"keys": [...]}` or a bare array). Each entry is a public JWK (or an `oct` JWK for HS256),
 * or `{"kid": "...", "pem": "-----BEGIN PUBLIC KEY-----..."}` for a key kept as PEM.
 */
function parseVerifyKeys(text: string): VerificationKey[] {
  const parsed = JSON.parse(text) as { keys?: JsonWebKey[] } | JsonWebKey[]
  const entries = Array.isArray(parsed) ? parsed : (parsed.keys ?? [])
  return entries.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null) throw new Error(`key ${index} is not a JWK object`)
    const kid = typeof entry.kid === 'string' ? entry.kid : undefined
    if (entry.d !== undefined || String(entry.pem ?? '').includes('PRIVATE')) {
      throw new Error(`key ${index} (${kid ?? 'no kid'}) is a private key; list public keys only`)
    }
    if (typeof entry.pem === 'string') return verificationKeyFromPublic(createPublicKey(entry.pem), kid)
    if (entry.kty === 'oct') return verificationKeyFromSecret(Buffer.from(String(entry.k ?? ''), 'base64url'), kid)
    return verificationKeyFromPublic(createPublicKey({ key: entry, format: 'jwk' }), kid)
  })
}

/** A new key for `algorithm`: a private key, or an HS256 secret. */
export function generateSigningMaterial(algorithm: SigningAlgorithm): KeyObject | Buffer {
  switch (algorithm) {
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    case 'HS256':
      return randomBytes(32)
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Builds the key set from configuration: one signing key (generated for this process when none is
 * configured outside production) and any number of retired verification keys, each found by `kid`.
 */
export function loadKeySet(material: KeyMaterial): KeySet {
  const problems: string[] = []
  const configured = material.algorithm === 'HS256' ? material.secret : material.privateKey
  const ephemeral = configured === undefined
  let signingMaterial: KeyObject | Buffer | undefined

  try {
    if (ephemeral) signingMaterial = generateSigningMaterial(material.algorithm)
    else if (material.algorithm === 'HS256') signingMaterial = Buffer.from(configured)
    else signingMaterial = parsePrivateKey(configured)
  } catch (error) {
    problems.push(`JWT_PRIVATE_KEY: not a PEM or JWK private key (${describe(error)})`)
  }

  let current: VerificationKey | undefined
  let signingKey: string | Buffer | undefined
  if (signingMaterial) {
    try {
      if (Buffer.isBuffer(signingMaterial)) {
        current = verificationKeyFromSecret(signingMaterial, material.keyId)
        signingKey = signingMaterial
      } else {
        current = verificationKeyFromPublic(createPublicKey(signingMaterial), material.keyId)
        signingKey = signingMaterial.export({ format: 'pem', type: 'pkcs8' }).toString()
      }
      if (current.algorithm !== material.algorithm) {
        problems.push(`JWT_PRIVATE_KEY is a ${current.algorithm} key but JWT_ALGORITHM is ${material.algorithm}`)
      }
    } catch (error) {
      problems.push(`${material.algorithm === 'HS256' ? 'JWT_SECRET' : 'JWT_PRIVATE_KEY'}: ${describe(error)}`)
    }
  }

  const verification = new Map<string, VerificationKey>()
  if (current) verification.set(current.kid, current)
  if (material.verifyKeys) {
    try {
      for (const key of parseVerifyKeys(material.verifyKeys)) {
        if (verification.has(key.kid)) throw new Error(`kid ${key.kid} appears twice`)
        verification.set(key.kid, key)
      }
    } catch (error) {
      problems.push(`JWT_VERIFY_KEYS: ${describe(error)}`)
    }
  }

  if (problems.length > 0 || !current || signingKey === undefined) throw new KeySetError(problems)
  return {
    signing: { kid: current.kid, algorithm: current.algorithm, key: signingKey },
    verification,
    jwks: { keys: [...verification.values()].flatMap((key) => (key.publicJwk ? [key.publicJwk] : [])) },
    ephemeral,
  }
}
