import { createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto'
import type { SigningAlgorithm } from './signing-keys.js'

/**
 * Checks a JWS signature. The asymmetric algorithms run on libuv's thread pool (crypto.verify with a
 * callback): an Ed25519 check costs ~100 µs of CPU, and doing it on the event loop, as fast-jwt does,
 * would make every token the server has not seen yet hold up every other request. HS256 is a cheap HMAC
 * and stays inline, compared in constant time.
 */
export function verifySignature(algorithm: SigningAlgorithm, key: KeyObject, input: string, signature: Buffer): Promise<boolean> {
  const data = Buffer.from(input)
  if (algorithm === 'HS256') {
    const expected = createHmac('sha256', key).update(data).digest()
    return Promise.resolve(expected.length === signature.length && timingSafeEqual(expected, signature))
  }
  return new Promise((resolve) => {
    const done = (error: Error | null, ok: boolean) => resolve(error === null && ok)
    try {
      if (algorithm === 'EdDSA') verify(null, data, key, signature, done)
      // JWS ES256 signatures are r || s (IEEE P1363), not DER.
      else if (algorithm === 'ES256') verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature, done)
      else verify('sha256', data, key, signature, done)
    } catch {
      resolve(false)
    }
  })
}

/**
 * Signs a JWS signing input, for the same reason on the thread pool: an RS256 signature costs ~0.35 ms
 * of CPU, and a refresh makes two. HS256 stays inline (a few µs).
 */
export function createSignature(algorithm: SigningAlgorithm, key: KeyObject, input: string): Promise<Buffer> {
  const data = Buffer.from(input)
  if (algorithm === 'HS256') return Promise.resolve(createHmac('sha256', key).update(data).digest())
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, signature: Buffer) => (error ? reject(error) : resolve(signature))
    if (algorithm === 'EdDSA') sign(null, data, key, done)
    else if (algorithm === 'ES256') sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, done)
    else sign('sha256', data, key, done)
  })
}
