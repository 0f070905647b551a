import type { KeyObject } from 'node:crypto'
import { createSignature } from './signature.js'
import type { SigningAlgorithm } from './signing-keys.js'

export interface JwtSignerOptions {
  algorithm: SigningAlgorithm
  key: KeyObject
  kid: string
  /** The JOSE `typ` of the token type (./claims.ts). */
  typ: string
  issuer: string
  audience: string
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * Signs complete payloads into compact JWS, off the event loop (./signature.ts). Byte for byte what
 * fast-jwt's createSigner makes with the same options (header alg, typ, kid; iss and aud appended to the
 * payload), which test/security/signer-differential.test.ts holds it to. The header is encoded once.
 */
export function createJwtSigner(options: JwtSignerOptions): (payload: Record<string, unknown>) => Promise<string> {
  const { algorithm, key } = options
  const header = encode({ alg: algorithm, typ: options.typ, kid: options.kid })
  const fixed = { aud: options.audience, iss: options.issuer }
  return async (payload) => {
    const input = `${header}.${encode({ ...payload, ...fixed })}`
    return `${input}.${(await createSignature(algorithm, key, input)).toString('base64url')}`
  }
}
