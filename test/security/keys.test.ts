import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import t from 'tap'
import { jwkThumbprint } from '../../src/tokens/signing-keys.js'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/database.js'
import { login, me, problemOf, refresh, registerUser, session } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'

const pem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }).toString()

const KEYS = {
  EdDSA: () => pem(generateKeyPairSync('ed25519').privateKey),
  ES256: () => pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  RS256: () => pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
}

for (const [algorithm, makeKey] of Object.entries(KEYS)) {
  t.test(`${algorithm}: tokens are signed, published and verified`, async (t) => {
    const { app, config } = await build(t, { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: makeKey() })
    const { tokens } = await session(app)
    t.match(decodeJwt(tokens.accessToken).header, { alg: algorithm, typ: 'at+jwt', kid: config.jwt.keys.signing.kid })
    t.equal((await me(app, tokens.accessToken)).statusCode, 200)
    t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200)
    const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: { alg: string; d?: string }[] }>()
    t.match(jwks.keys, [{ alg: algorithm }])
    t.notOk(jwks.keys.some((key) => 'd' in key || 'p' in key), 'no private parts')
  })
}

t.test('HS256: works with a 32-byte secret and publishes no key', async (t) => {
  const { app } = await build(t, { JWT_ALGORITHM: 'HS256', JWT_SECRET: randomBytes(32).toString('base64') })
  const { tokens } = await session(app)
  t.equal(decodeJwt(tokens.accessToken).header.alg, 'HS256')
  t.equal((await me(app, tokens.accessToken)).statusCode, 200)
  t.same((await app.inject({ url: '/.well-known/jwks.json' })).json(), { keys: [] })
})

t.test('key rotation: old tokens verify until retired, new ones carry the new kid', async (t) => {
  // Three deployments of one service on one database, as the README's rotation runbook describes.
  const database = await createTestDatabase(t)
  const k1 = generateKeyPairSync('ed25519')
  const k2 = generateKeyPairSync('ed25519')
  const publicJwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid })
  // An Ed25519 deployment (the default before RS256), which names its algorithm.
  // The refresh secret stays: rotating the signing key does not touch refresh tokens (HS256 under their own).
  const base = { DATABASE_URL: database.url, JWT_ALGORITHM: 'EdDSA', REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64') }

  const before = await build(t, { ...base, JWT_PRIVATE_KEY: pem(k1.privateKey), JWT_KEY_ID: 'k1' }, { database })
  const user = await registerUser(before.app)
  const old = await login(before.app, user.email)
  t.equal(decodeJwt(old.accessToken).header.kid, 'k1')

  const rotated = await build(
    t,
    { ...base, JWT_PRIVATE_KEY: pem(k2.privateKey), JWT_KEY_ID: 'k2', JWT_VERIFY_KEYS: JSON.stringify({ keys: [publicJwk(k1.publicKey, 'k1')] }) },
    { database },
  )
  t.equal((await me(rotated.app, old.accessToken)).statusCode, 200, 'a k1 access token still verifies')
  const renewed = await refresh(rotated.app, old.refreshToken!)
  t.equal(renewed.statusCode, 200, 'a k1 refresh token still refreshes')
  t.equal(decodeJwt(renewed.json().accessToken).header.kid, 'k2', 'new tokens carry k2')
  const jwks = (await rotated.app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>()
  t.same(jwks.keys.map((key) => key.kid).sort(), ['k1', 'k2'], 'JWKS publishes both while k1 tokens live')

  const retired = await build(t, { ...base, JWT_PRIVATE_KEY: pem(k2.privateKey), JWT_KEY_ID: 'k2' }, { database })
  const refused = await me(retired.app, old.accessToken)
  t.equal(refused.statusCode, 401, 'after retiring k1, its tokens fail')
  t.equal(problemOf(refused).code, 'token_invalid')
  t.equal((await me(retired.app, renewed.json().accessToken)).statusCode, 200, 'k2 tokens keep working')
})

t.test('verification keys may be JWKs or PEMs; the kid defaults to the RFC 7638 thumbprint', async (t) => {
  const signer = generateKeyPairSync('ed25519')
  const retiredPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString()
  const { config } = await build(t, {
    JWT_ALGORITHM: 'EdDSA',
    JWT_PRIVATE_KEY: pem(signer.privateKey),
    JWT_VERIFY_KEYS: JSON.stringify({ keys: [{ kid: 'old-ec', pem: retiredPem }] }),
  })
  t.equal(config.jwt.keys.signing.kid, jwkThumbprint(signer.publicKey.export({ format: 'jwk' })))
  t.match(config.jwt.keys.verification.get('old-ec'), { algorithm: 'ES256' })
})
