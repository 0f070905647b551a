// examples/resource-server against the real server as its own process: what another service of a user's
// sees. It never calls the auth API except for /.well-known/jwks.json, and it survives a key rotation
// without a restart.
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { buildResourceServer } from '../../examples/resource-server/app.js'
import { DEFAULT_SIGNING_ALGORITHM } from '../../src/tokens/signing-keys.js'
import { createTestDatabase } from '../helpers/database.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'
import { freePort, generateSigningKey, startServer, within, type ServerProcess } from '../helpers/server-process.js'

const ISSUER = 'jwt-auth-api'
const AUDIENCE = 'jwt-auth-api'
// Short, so the rotation step does not wait 30 s behind the "other key" step's refused kid.
const COOLDOWN_MS = 1000

type Tokens = { accessToken: string; refreshToken: string }

const publicJwk = (privatePem: string, kid: string) => ({
  ...createPublicKey(createPrivateKey(privatePem)).export({ format: 'jwk' }),
  kid,
  alg: DEFAULT_SIGNING_ALGORITHM,
  use: 'sig',
})

t.test('examples/resource-server verifies our tokens through the JWKS', async (t) => {
  const database = await createTestDatabase(t)
  const port = await freePort()
  const k1 = generateSigningKey()
  const k2 = generateSigningKey()
  let auth: ServerProcess | undefined
  const stopAuth = async () => {
    if (!auth) return
    auth.child.kill('SIGTERM')
    await auth.exited
    auth = undefined
  }
  t.teardown(stopAuth)
  const startAuth = async (env: NodeJS.ProcessEnv) => {
    auth = await startServer({ DATABASE_URL: database.url, PORT: String(port), MIGRATE_ON_START: 'true', ...env })
    return auth
  }
  const jwksFetches = () => (auth?.lines ?? []).filter((line) => line.includes('"url":"/.well-known/jwks.json"')).length

  await startAuth({ JWT_PRIVATE_KEY: k1, JWT_KEY_ID: 'k1' })
  const authUrl = `http://127.0.0.1:${port}`

  const resource = buildResourceServer({ authServerUrl: authUrl, issuer: ISSUER, audience: AUDIENCE, unknownKeyCooldownMs: COOLDOWN_MS })
  await resource.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => resource.close())
  const resourceUrl = `http://127.0.0.1:${(resource.server.address() as AddressInfo).port}`
  const hello = (token: string) => fetch(`${resourceUrl}/hello`, { headers: { authorization: `Bearer ${token}` } })

  const post = async (path: string, body: object) => {
    const response = await fetch(`${authUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: response.status, json: (await response.json().catch(() => ({}))) as Tokens }
  }
  const email = uniqueEmail('resource')
  t.equal((await post('/auth/register', { email, password: PASSWORD })).status, 201)
  const logIn = async () => (await post('/auth/login', { email, password: PASSWORD })).json

  const first = await logIn()
  const { payload } = decodeJwt(first.accessToken) as { payload: Record<string, unknown> }
  const now = Math.floor(Date.now() / 1000)
  const signWith = (key: string, kid: string, claims: Record<string, unknown> = {}) =>
    createSigner({ key, algorithm: DEFAULT_SIGNING_ALGORITHM, kid, ...{ typ: 'at+jwt' } })({
      ...payload,
      jti: randomUUID(),
      ...claims,
    })

  t.test('the JWKS may be cached, as its max-age says', async (t) => {
    const response = await fetch(`${authUrl}/.well-known/jwks.json`)
    t.equal(response.headers.get('cache-control'), 'public, max-age=300')
  })

  t.test('a valid access token: 200', async (t) => {
    const response = await hello(first.accessToken)
    t.equal(response.status, 200)
    t.match(await response.json(), { hello: email, role: 'user' })
  })

  t.test('expired, wrong audience, a refresh token, another key: 401', async (t) => {
    const cases: Record<string, string> = {
      expired: signWith(k1, 'k1', { iat: now - 1800, exp: now - 900 }),
      'wrong audience': signWith(k1, 'k1', { aud: 'another-service' }),
      'wrong issuer': signWith(k1, 'k1', { iss: 'someone-else' }),
      'a refresh token': first.refreshToken,
      // Right kid, wrong key: the signature check fails.
      'another key, our kid': signWith(generateSigningKey(), 'k1'),
    }
    for (const [name, token] of Object.entries(cases)) {
      const response = await hello(token)
      t.equal(response.status, 401, name)
      t.match(response.headers.get('www-authenticate'), /^Bearer error="invalid_token"/, `${name}: WWW-Authenticate`)
    }
  })

  t.test('an unknown kid refetches the JWK Set, at most once per cool-down', async (t) => {
    // Signed up front: RSA key generation takes longer than the cool-down.
    const stranger = generateSigningKey()
    const tokens = [1, 2, 3, 4, 5].map((i) => signWith(stranger, `unknown-${i}`))
    const before = jwksFetches()
    t.equal((await hello(tokens[0]!)).status, 401)
    // The server's log line may reach us after the response does.
    await within(2000, async () => jwksFetches() > before)
    const afterFirst = jwksFetches()
    t.equal(afterFirst, before + 1, 'the first unknown kid fetched the set once')
    for (const token of tokens.slice(1)) t.equal((await hello(token)).status, 401)
    t.equal(jwksFetches(), afterFirst, 'four more unknown kids inside the cool-down fetched nothing')
  })

  t.test('after a key rotation the new tokens verify without restarting the resource server', async (t) => {
    await stopAuth()
    // Runbook step 2: sign with k2, keep k1 verifying.
    await startAuth({ JWT_PRIVATE_KEY: k2, JWT_KEY_ID: 'k2', JWT_VERIFY_KEYS: JSON.stringify({ keys: [publicJwk(k1, 'k1')] }) })
    const rotated = await logIn()
    t.equal(decodeJwt(rotated.accessToken).header.kid, 'k2')
    // Inside the cool-down of the unknown kids above an unknown k2 is refused; once it is over, it verifies.
    await within(COOLDOWN_MS + 5000, async () => (await hello(rotated.accessToken)).status === 200)
    t.equal((await hello(rotated.accessToken)).status, 200, 'a k2 token verifies')
    t.equal((await hello(first.accessToken)).status, 200, 'a k1 token from before the rotation still verifies')
  })
})
