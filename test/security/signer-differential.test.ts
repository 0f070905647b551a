import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto'
import { createSigner, createVerifier } from 'fast-jwt'
import t from 'tap'
import { createJwtSigner } from '../../src/tokens/jwt-signer.js'
import type { SigningAlgorithm } from '../../src/tokens/signing-keys.js'

/**
 * Our signer (src/tokens/jwt-signer.ts) against fast-jwt's, which signed every token before it: the same
 * options and payload give the very same string for the deterministic algorithms (RS256, EdDSA, HS256),
 * and ES256, whose signatures are randomised, verifies both ways.
 */
const issuer = 'https://auth.example.com'
const audience = 'jwt-auth-api'
const keys: Record<SigningAlgorithm, KeyObject> = {
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
  EdDSA: generateKeyPairSync('ed25519').privateKey,
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  HS256: createSecretKey(randomBytes(32)),
}
const keyFor = (algorithm: SigningAlgorithm) =>
  algorithm === 'HS256' ? keys.HS256.export() : keys[algorithm].export({ format: 'pem', type: 'pkcs8' }).toString()

const payloads = [
  { sub: randomUUID(), email: 'ada@example.com', role: 'user', jti: randomUUID(), iat: 1_790_000_000, exp: 1_790_000_900 },
  { sub: randomUUID(), email: 'zoë+тест@例え.jp', role: 'admin', jti: randomUUID(), iat: 1_790_000_000, exp: 1_790_000_900 },
  { sub: randomUUID(), fid: randomUUID(), jti: randomUUID(), iat: 1_790_000_000, exp: 1_792_592_000, ep: 3, rm: true },
]

for (const algorithm of ['RS256', 'EdDSA', 'HS256', 'ES256'] as const) {
  t.test(algorithm, async (t) => {
    for (const typ of ['at+jwt', 'refresh+jwt']) {
      const ours = createJwtSigner({ algorithm, key: keys[algorithm], kid: 'k1', typ, issuer, audience })
      // `typ` is a fast-jwt signer option its types do not declare.
      const theirs = createSigner({ key: keyFor(algorithm), algorithm, kid: 'k1', iss: issuer, aud: audience, ...{ typ } })
      const verify = createVerifier({
        key: algorithm === 'HS256' ? keyFor(algorithm) : createPublicKey(keys[algorithm]).export({ format: 'pem', type: 'spki' }).toString(),
        algorithms: [algorithm],
        complete: true,
        clockTimestamp: 1_790_000_100_000,
      })
      for (const payload of payloads) {
        const token = await ours(payload)
        const reference = theirs(payload)
        if (algorithm === 'ES256') {
          t.not(token, reference, `${typ}: randomised signatures differ`)
          t.equal(token.split('.').slice(0, 2).join('.'), reference.split('.').slice(0, 2).join('.'), `${typ}: same header and payload`)
        } else {
          t.equal(token, reference, `${typ}: byte-identical to fast-jwt`)
        }
        const { header, payload: verified } = verify(token) as { header: Record<string, unknown>; payload: Record<string, unknown> }
        t.same(header, { alg: algorithm, typ, kid: 'k1' }, `${typ}: header`)
        t.same(verified, { ...payload, aud: audience, iss: issuer }, `${typ}: fast-jwt verifies our token`)
      }
    }
  })
}
