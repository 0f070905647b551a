import { randomBytes, type KeyObject } from 'node:crypto'
import { KeySetError, verificationKeyFromSecret, type VerificationKey } from './signing-keys.js'

export interface RefreshKeyMaterial {
  /** REFRESH_TOKEN_SECRET; generated for this process when absent (development and tests only). */
  secret?: string
  /** REFRESH_TOKEN_PREVIOUS_SECRETS: retired secrets that still verify, never sign. */
  previousSecrets: string[]
}

/**
 * Refresh tokens are only ever read by this service, so they are MACed (HS256) with a secret of their own
 * instead of signed with the published key: a few µs instead of an RSA signature, and nothing about them
 * is in the JWKS. Their kids live in a map of their own, so an access-key signature never verifies as a
 * refresh token, and a refresh secret never verifies an access token.
 */
export interface RefreshKeySet {
  signing: { kid: string; key: KeyObject }
  verification: Map<string, VerificationKey>
  ephemeral: boolean
}

export function loadRefreshKeySet(material: RefreshKeyMaterial): RefreshKeySet {
  const problems: string[] = []
  const ephemeral = material.secret === undefined
  const verification = new Map<string, VerificationKey>()
  let current: VerificationKey | undefined
  try {
    current = verificationKeyFromSecret(material.secret === undefined ? randomBytes(32) : Buffer.from(material.secret))
    verification.set(current.kid, current)
  } catch (error) {
    problems.push(`REFRESH_TOKEN_SECRET: ${(error as Error).message}`)
  }
  material.previousSecrets.forEach((secret, index) => {
    try {
      const key = verificationKeyFromSecret(Buffer.from(secret))
      if (verification.has(key.kid)) throw new Error('appears twice (or is the current secret)')
      verification.set(key.kid, key)
    } catch (error) {
      problems.push(`REFRESH_TOKEN_PREVIOUS_SECRETS: secret ${index + 1}: ${(error as Error).message}`)
    }
  })
  if (problems.length > 0 || !current) throw new KeySetError(problems)
  return { signing: { kid: current.kid, key: current.keyObject }, verification, ephemeral }
}
