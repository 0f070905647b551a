import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import net from 'node:net'
import { Writable } from 'node:stream'
import fastifyHelmet, { type FastifyHelmetOptions } from '@fastify/helmet'
import Fastify, { type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp, REDACTED_PATHS } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { HELMET_OPTIONS } from '../../src/plugins/security.js'
import { build, TEST_ENV } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/database.js'
import { PASSWORD, post, problemOf, session, uniqueEmail } from '../helpers/http.js'
import { decodeJwt, signEdDSA, signJws, tamper, unsigned } from '../helpers/jwt.js'

/** Every answer in this file must be a 4xx problem document: never a 5xx, never a bare error. */
function expectRefused(t: Test, response: LightMyRequestResponse, status: number, code: string, name: string) {
  t.equal(response.statusCode, status, `${name}: status`)
  t.match(response.headers['content-type'], /^application\/problem\+json/, `${name}: problem+json`)
  t.equal(problemOf(response).code, code, `${name}: code`)
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The same signature bytes, spelled with other values in the last character's unused low bits. */
function respell(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(token.at(-1) ?? 'A')
  const respelled = `${token.slice(0, -1)}${alphabet[last ^ 1]}`
  if (Buffer.from(respelled.split('.')[2]!, 'base64url').equals(Buffer.from(token.split('.')[2]!, 'base64url'))) return respelled
  throw new Error('respelling changed the signature bytes')
}

t.test('hostile tokens: every one is a 401, never a 500', async (t) => {
  // EdDSA: the forgeries below are signed by hand with Ed25519 (signEdDSA), including non-canonical spellings.
  const { app, config, clock } = await build(t, { JWT_ALGORITHM: 'EdDSA' })
  const { tokens } = await session(app)
  const signing = config.jwt.keys.signing
  const claims = decodeJwt(tokens.accessToken).payload
  const sign = (payload: object, header: object = {}, key: string | Buffer = signing.key) =>
    signEdDSA({ typ: 'at+jwt', kid: signing.kid, ...header }, { ...claims, ...payload }, key)

  // HS256 tokens MACed with our *public* key: the classic algorithm-confusion forgery.
  const publicPem = createPublicKey(signing.key).export({ format: 'pem', type: 'spki' }).toString()
  const confused = (secret: string) => {
    const head = b64({ alg: 'HS256', typ: 'at+jwt', kid: signing.kid })
    const body = b64({ ...claims, role: 'admin' })
    return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`
  }
  const otherKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

  const cases: [string, string, string][] = [
    ['unknown kid', tamper(tokens.accessToken, { header: { kid: 'someone-elses' } }), 'token_invalid'],
    ['no kid', sign({}, { kid: undefined }), 'token_invalid'],
    ['wrong iss', sign({ iss: 'https://evil.example' }), 'token_invalid'],
    ['wrong aud', sign({ aud: 'another-api' }), 'token_invalid'],
    ['wrong typ', sign({}, { typ: 'JWT' }), 'token_invalid'],
    ['refresh typ on access claims', sign({}, { typ: 'refresh+jwt' }), 'token_invalid'],
    ['signed by another key', sign({}, {}, otherKey), 'token_invalid'],
    ['alg none', unsigned(tokens.accessToken), 'token_invalid'],
    ['alg confusion with the public PEM', confused(publicPem), 'token_invalid'],
    ['alg confusion with the public JWK', confused(JSON.stringify(createPublicKey(signing.key).export({ format: 'jwk' }))), 'token_invalid'],
    ['an unknown crit header', sign({}, { crit: ['exp-policy'], 'exp-policy': 1 }), 'token_invalid'],
    ['a refresh token as access token', tokens.refreshToken!, 'token_invalid'],
    ['missing claims', sign({ email: undefined, role: undefined }), 'token_invalid'],
    ['no iss and no aud', sign({ iss: undefined, aud: undefined }), 'token_invalid'],
    ['not valid before an hour from now', sign({ nbf: Number(claims.iat) + 3600 }), 'token_invalid'],
    ['issued an hour from now', sign({ iat: Number(claims.iat) + 3600, exp: Number(claims.exp) + 3600 }), 'token_invalid'],
    ['claims of the wrong type', sign({ sub: 42 }), 'token_invalid'],
    ['a role we never issue', sign({ role: 'superuser' }), 'token_invalid'],
    ['expired an hour ago', sign({ iat: Number(claims.iat) - 7200, exp: Number(claims.iat) - 3600 }), 'token_expired'],
    ['a non-canonical spelling of the real signature', respell(tokens.accessToken), 'token_invalid'],
    ['three dots', 'a.b.c.d', 'token_invalid'],
    ['not base64', '!!!.###.$$$', 'token_invalid'],
    ['header is not JSON', `${Buffer.from('{nope').toString('base64url')}.e30.sig`, 'token_invalid'],
    ['non-ASCII', 'é.é.é', 'token_invalid'],
  ]
  // The control: a token built the same way with nothing wrong in it is accepted.
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${sign({})}` } })).statusCode, 200, 'control')
  for (const [name, token, code] of cases) {
    const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    expectRefused(t, response, 401, code, name)
    t.match(response.headers['www-authenticate'], /^Bearer /, `${name}: challenge`)
  }

  const headers: [string, string, string][] = [
    ['Basic credentials', 'Basic YWRhOmx1Y3k=', 'token_invalid'],
    ['a scheme only', 'Bearer', 'token_missing'],
    ['two tokens', `Bearer ${tokens.accessToken} ${tokens.accessToken}`, 'token_invalid'],
    ['an Authorization header over 8 KB', `Bearer ${'a'.repeat(9000)}`, 'token_invalid'],
  ]
  for (const [name, authorization, code] of headers) {
    expectRefused(t, await app.inject({ url: '/me', headers: { authorization } }), 401, code, name)
  }
  expectRefused(
    t,
    await app.inject({ method: 'POST', url: '/auth/logout-all', headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }),
    401,
    'token_invalid',
    'an oversized Authorization header on another Bearer route',
  )

  // A future iat would restart the refresh idle timeout at will: refused beyond the clock tolerance.
  const refreshClaims = decodeJwt(tokens.refreshToken!).payload
  const futureRefresh = signJws(
    { alg: 'HS256', typ: 'refresh+jwt', kid: config.jwt.refreshKeys.signing.kid },
    { ...refreshClaims, iat: Number(refreshClaims.iat) + config.jwt.clockToleranceSeconds + 60 },
    config.jwt.refreshKeys.signing.key,
  )
  const asRefresh: [string, string][] = [
    ['a refresh token issued in the future', futureRefresh],
    ['an access token as refresh token', tokens.accessToken],
    ['a forged refresh token', tamper(tokens.refreshToken!, { payload: { sub: randomUUID() } })],
    ['a refresh token with alg none', unsigned(tokens.refreshToken!)],
  ]
  for (const [name, refreshToken] of asRefresh) {
    expectRefused(t, await post(app, '/auth/refresh', { refreshToken }), 401, 'token_invalid', name)
  }

  clock.advance((config.jwt.accessTtlSeconds + config.jwt.clockToleranceSeconds + 1) * 1000)
  expectRefused(t, await app.inject({ url: '/me', headers: { authorization: `Bearer ${tokens.accessToken}` } }), 401, 'token_expired', 'expired by the clock')
})

t.test('refresh tokens answer to the refresh secret alone, access tokens to the published keys alone', async (t) => {
  const previous = randomBytes(32).toString('base64')
  const { app, config } = await build(t, { REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64'), REFRESH_TOKEN_PREVIOUS_SECRETS: previous })
  const { tokens } = await session(app)
  const access = config.jwt.keys.signing
  const refresh = config.jwt.refreshKeys.signing
  const refreshOf = decodeJwt(tokens.refreshToken!)
  const accessOf = decodeJwt(tokens.accessToken)
  t.same(refreshOf.header, { alg: 'HS256', typ: 'refresh+jwt', kid: refresh.kid }, 'a refresh token is HS256 under the refresh kid')
  t.equal(accessOf.header.alg, 'RS256')
  const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: { kid: string; kty: string }[] }>()
  t.same(jwks.keys.map((key) => key.kid), [access.kid], 'the JWK Set holds the access key and nothing of the refresh secrets')

  const fresh = () => ({ ...refreshOf.payload, jti: randomUUID() })
  const publicPem = createPublicKey(access.key).export({ format: 'pem', type: 'spki' }).toString()
  const asRefresh: [string, string][] = [
    // Valid claims, a valid RS256 signature by our own access key: what every refresh token was before.
    ['an RS256 refresh token signed with the access key', signJws({ alg: 'RS256', typ: 'refresh+jwt', kid: access.kid }, fresh(), access.key)],
    ['the refresh secret under the access kid', signJws({ alg: 'HS256', typ: 'refresh+jwt', kid: access.kid }, fresh(), refresh.key)],
    ['RS256 under the refresh kid', signJws({ alg: 'RS256', typ: 'refresh+jwt', kid: refresh.kid }, fresh(), access.key)],
    ['HS256 MACed with the public key', signJws({ alg: 'HS256', typ: 'refresh+jwt', kid: refresh.kid }, fresh(), publicPem)],
    ['an access token', tokens.accessToken],
    ['an access token relabelled refresh+jwt', tamper(tokens.accessToken, { header: { typ: 'refresh+jwt' } })],
  ]
  for (const [name, refreshToken] of asRefresh) {
    expectRefused(t, await post(app, '/auth/refresh', { refreshToken }), 401, 'token_invalid', name)
  }
  const asAccess: [string, string][] = [
    ['a refresh token', tokens.refreshToken!],
    ['access claims MACed with the refresh secret', signJws({ alg: 'HS256', typ: 'at+jwt', kid: refresh.kid }, accessOf.payload, refresh.key)],
  ]
  for (const [name, token] of asAccess) {
    expectRefused(t, await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } }), 401, 'token_invalid', name)
  }

  // The controls: built the same way with the right key, both are accepted; so is a previous secret.
  t.equal((await post(app, '/auth/refresh', { refreshToken: signJws({ ...refreshOf.header, alg: 'HS256' }, fresh(), refresh.key) })).statusCode, 200, 'control')
  const previousKid = [...config.jwt.refreshKeys.verification.keys()].find((kid) => kid !== refresh.kid)!
  const rotated = await post(app, '/auth/refresh', {
    refreshToken: signJws({ alg: 'HS256', typ: 'refresh+jwt', kid: previousKid }, fresh(), Buffer.from(previous)),
  })
  t.equal(rotated.statusCode, 200, 'a token of a previous secret still refreshes')
  t.equal(decodeJwt(rotated.json<{ refreshToken: string }>().refreshToken).header.kid, refresh.kid, 'and its successor is under the current one')
})

t.test('hostile bodies: 400, 413 or 415, never a 500', async (t) => {
  const { app } = await build(t)
  const json = (payload: string, url = '/auth/register', type = 'application/json') =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } })
  const email = uniqueEmail()

  const cases: [string, Promise<LightMyRequestResponse>, number, string][] = [
    ['unknown field', json(JSON.stringify({ email, password: PASSWORD, role: 'admin' })), 400, 'validation_failed'],
    ['__proto__ key', json(`{"email":"${email}","password":"${PASSWORD}","__proto__":{"role":"admin"}}`), 400, 'validation_failed'],
    ['constructor.prototype', json(`{"email":"${email}","password":"${PASSWORD}","constructor":{"prototype":{"role":"admin"}}}`), 400, 'validation_failed'],
    ['an email of 300 characters', json(JSON.stringify({ email: `${'a'.repeat(290)}@example.com`, password: PASSWORD })), 400, 'validation_failed'],
    ['a password of 1025 characters', json(JSON.stringify({ email, password: 'x'.repeat(1025) })), 400, 'validation_failed'],
    ['a login password of 5000 characters', json(JSON.stringify({ email, password: 'x'.repeat(5000) }), '/auth/login'), 400, 'validation_failed'],
    ['numbers for strings', json('{"email":1,"password":2}'), 400, 'validation_failed'],
    ['null', json('null'), 400, 'validation_failed'],
    ['an array', json('[]'), 400, 'validation_failed'],
    ['truncated JSON', json('{"email":'), 400, 'validation_failed'],
    ['deep nesting', json(`${'['.repeat(5000)}${']'.repeat(5000)}`), 400, 'validation_failed'],
    ['a 20 KB body', json(JSON.stringify({ email, password: 'x'.repeat(20_000) })), 413, 'payload_too_large'],
    ['text/plain', json('email=a', '/auth/login', 'text/plain'), 415, 'unsupported_media_type'],
    ['a form', json('email=a&password=b', '/auth/login', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
    ['a refresh token of 5000 characters', json(JSON.stringify({ refreshToken: 'x'.repeat(5000) }), '/auth/refresh'), 400, 'validation_failed'],
    ['a refresh token that is a number', json('{"refreshToken":12}', '/auth/refresh'), 400, 'validation_failed'],
  ]
  for (const [name, request, status, code] of cases) expectRefused(t, await request, status, code, name)
})

/** Sends raw bytes to a listening server and returns the raw answer. */
async function raw(port: number, request: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1')
  socket.write(request)
  const chunks: Buffer[] = []
  for await (const chunk of socket) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

t.test('requests Node cannot parse still get a problem document', async (t) => {
  const { app } = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as net.AddressInfo

  const huge = await raw(port, `GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(huge, /^HTTP\/1\.1 431 /)
  t.match(huge, /content-type: application\/problem\+json/i)
  t.match(huge, /"code":"header_too_large"/)

  const garbage = await raw(port, 'NOT HTTP AT ALL\r\n\r\n')
  t.match(garbage, /^HTTP\/1\.1 400 /)
  t.match(garbage, /"code":"validation_failed"/)
})

t.test('browsers: security headers, strict CORS, a cached preflight', async (t) => {
  const { app } = await build(t, { CORS_ORIGINS: 'https://app.example.com' })
  const response = await app.inject({ url: '/health/live' })
  t.equal(response.headers['x-powered-by'], undefined)
  t.match(response.headers, {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'SAMEORIGIN',
    'strict-transport-security': /max-age=\d+/,
    'content-security-policy': /default-src 'self'/,
    'referrer-policy': 'no-referrer',
  })

  const preflight = (origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/auth/refresh',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-requested-with' },
    })
  const allowed = await preflight('https://app.example.com')
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(allowed.headers['access-control-allow-credentials'], 'true')
  t.match(allowed.headers['access-control-allow-headers'], /X-Requested-With/i)
  t.ok(Number(allowed.headers['access-control-max-age']) >= 600, 'the preflight is cached')

  const refused = await preflight('https://evil.example.com')
  t.equal(refused.headers['access-control-allow-origin'], undefined, 'an unknown origin gets no CORS grant')
  const simple = await app.inject({ url: '/me', headers: { origin: 'https://evil.example.com' } })
  t.equal(simple.headers['access-control-allow-origin'], undefined)
})

t.test('the security headers are exactly the ones @fastify/helmet sends for the same options', async (t) => {
  const { app } = await build(t)
  // The same route on a bare Fastify, with and without @fastify/helmet: the difference is helmet's set.
  const bare = async (withHelmet: boolean) => {
    const server = Fastify()
    t.teardown(() => server.close())
    // helmet's CommonJS and ESM typings declare the same options twice; the cast bridges the two.
    if (withHelmet) await server.register(fastifyHelmet, HELMET_OPTIONS as FastifyHelmetOptions)
    server.get('/health/live', async () => ({ status: 'ok' }))
    return (await server.inject({ url: '/health/live' })).headers
  }
  const [plain, helmeted] = [await bare(false), await bare(true)]
  const expected = Object.fromEntries(Object.entries(helmeted).filter(([name]) => !(name in plain)))
  t.ok(Object.keys(expected).length >= 10, 'helmet sets its usual dozen headers')

  const ours = (await app.inject({ url: '/health/live' })).headers
  const sent = Object.fromEntries(Object.keys(expected).map((name) => [name, ours[name]]))
  t.same(sent, expected)
})

t.test('logs never carry credentials, and every line carries the request id', async (t) => {
  const database = await createTestDatabase(t)
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    },
  })
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: database.url, LOG_LEVEL: 'trace' })
  const app = await buildApp(config, { logger: { level: 'trace', stream, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } } })
  t.teardown(() => app.close())
  const email = uniqueEmail()
  await post(app, '/auth/register', { email, password: PASSWORD })
  const login = await post(app, '/auth/login', { email, password: PASSWORD, transport: 'cookie' })
  const token = login.json().accessToken as string
  await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}`, cookie: `refresh_token=${login.cookies[0]?.value}` } })
  await post(app, '/auth/login', { email, password: 'wrong password, logged?' })

  const everything = lines.join('\n')
  t.ok(lines.length > 5, 'something was logged')
  for (const secret of [PASSWORD, 'wrong password, logged?', token, login.cookies[0]?.value ?? 'x']) {
    t.notOk(everything.includes(secret), `never logged: ${secret.slice(0, 12)}...`)
  }
  const requestLines = lines.map((line) => JSON.parse(line) as { reqId?: string; req?: unknown }).filter((line) => line.req)
  t.ok(requestLines.length > 0 && requestLines.every((line) => typeof line.reqId === 'string'), 'request lines carry reqId')
})

t.test('a caller’s X-Request-Id is kept only when it is a plausible id', async (t) => {
  const { app } = await build(t)
  t.equal((await app.inject({ url: '/health/live', headers: { 'x-request-id': 'trace-123.abc' } })).headers['x-request-id'], 'trace-123.abc')
  const injected = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'evil\nline' + 'x'.repeat(100) } })
  t.match(injected.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})
