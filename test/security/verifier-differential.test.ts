import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import fc from 'fast-check'
import { createVerifier } from 'fast-jwt'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ProblemError } from '../../src/errors/problem.js'
import { createTokenVerifier } from '../../src/tokens/token-verifier.js'
import { ManualClock } from '../helpers/clock.js'
import { signEdDSA } from '../helpers/jwt.js'

// Our verifier checks signatures itself (off the event loop). This test holds it to fast-jwt, the
// maintained verifier inside @fastify/jwt, configured with the same rules: on thousands of generated
// tokens, everything we accept fast-jwt accepts too. (We may be stricter: canonical signatures only,
// no `crit` at all.) On the same tokens, our verified-token cache is held to our own uncached verifier.
const SEED = 20_261_125

const signingKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
const otherKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
// EdDSA on purpose: the canonical-signature rules this holds us to are Ed25519's (see SECURITY.md).
const config = loadConfig({ NODE_ENV: 'test', JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: signingKey })
const { kid } = config.jwt.keys.signing
const publicPem = createPublicKey(signingKey).export({ format: 'pem', type: 'spki' }).toString()
const now = Date.UTC(2026, 10, 25, 12)
const verifier = (accessCacheSize: number, clock: ManualClock) =>
  createTokenVerifier({
    keys: config.jwt.keys,
    refreshKeys: config.jwt.refreshKeys,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    clockToleranceSeconds: config.jwt.clockToleranceSeconds,
    accessCacheSize,
    clock,
  })
const fastJwt = createVerifier({
  key: publicPem,
  algorithms: ['EdDSA'],
  checkTyp: 'at+jwt',
  allowedIss: config.jwt.issuer,
  allowedAud: config.jwt.audience,
  requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'],
  clockTimestamp: now,
  clockTolerance: config.jwt.clockToleranceSeconds * 1000,
  cache: false,
})

const iat = Math.floor(now / 1000)
const claims = {
  sub: randomUUID(),
  email: 'ada@example.com',
  role: 'user',
  jti: randomUUID(),
  iat,
  exp: iat + 900,
  iss: config.jwt.issuer,
  aud: config.jwt.audience,
}
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
// Each field is usually right and sometimes wrong (or absent: undefined), so that both valid tokens and
// near misses of every kind turn up.
const mostly = <T>(good: T, ...bad: unknown[]) =>
  fc.oneof({ weight: 8, arbitrary: fc.constant<unknown>(good) }, { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, ...bad) })

const header = fc.record({
  alg: mostly('EdDSA', 'HS256', 'ES256', 'none', 'eddsa'),
  typ: mostly('at+jwt', 'AT+JWT', 'application/at+jwt', 'refresh+jwt', 'JWT'),
  kid: mostly(kid, 'other', ''),
  crit: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(['exp']) }),
})
const payload = fc.record({
  iss: mostly(config.jwt.issuer, 'https://evil.example', ''),
  aud: mostly(config.jwt.audience, 'other-api', [config.jwt.audience, 'x'], ['x']),
  exp: mostly(iat + 900, iat - 4, iat - 6, iat - 3600, 'soon', 1.5),
  nbf: fc.constantFrom<unknown>(undefined, undefined, undefined, iat - 10, iat + 4, iat + 6, iat + 3600),
  iat: mostly(iat, iat - 100, '0'),
  sub: mostly(claims.sub, 42, ''),
  jti: mostly(claims.jti, null),
  role: mostly('user', 'admin', 'root'),
})
const signer = fc.oneof(
  { weight: 6, arbitrary: fc.constant('ours') },
  { weight: 1, arbitrary: fc.constantFrom('other', 'hmac-with-public-key', 'none', 'garbled') },
)

const token = fc.tuple(header, payload, signer).map(([h, p, how]) => {
  const head = Object.fromEntries(Object.entries(h).filter(([, value]) => value !== undefined))
  const body = { ...claims, ...p }
  for (const [name, value] of Object.entries(p)) if (value === undefined) delete (body as Record<string, unknown>)[name]
  const input = `${b64(head)}.${b64(body)}`
  // Ed25519 over whatever header was generated: valid exactly when the key is ours and the rules allow it.
  if (how === 'ours') return `${input}.${sign(null, Buffer.from(input), signingKey).toString('base64url')}`
  if (how === 'other') return `${input}.${sign(null, Buffer.from(input), otherKey).toString('base64url')}`
  if (how === 'hmac-with-public-key') return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`
  if (how === 'none') return `${input}.`
  return `${input}.${Buffer.from('not a signature').toString('base64url')}`
})

t.test('the token verifier never accepts what fast-jwt, configured alike, refuses', async (t) => {
  const ours = verifier(0, new ManualClock(now))
  let accepted = 0
  await fc.assert(
    fc.asyncProperty(token, async (candidate) => {
      const weAccept = await ours.verifyAccess(candidate).then(
        () => true,
        () => false,
      )
      let theyAccept = true
      try {
        fastJwt(candidate)
      } catch {
        theyAccept = false
      }
      if (weAccept) accepted++
      return !weAccept || theyAccept
    }),
    { seed: SEED, numRuns: 5000 },
  )
  t.ok(accepted > 10, `some generated tokens were genuinely valid and accepted (${accepted})`)

  const valid = signEdDSA({ typ: 'at+jwt', kid }, claims, signingKey)
  t.ok(await ours.verifyAccess(valid))
  t.ok(fastJwt(valid))
})

t.test('a cache hit answers exactly as a fresh verification would, at every moment', async (t) => {
  // The token is checked at issue time, just before and just after the end of its lifetime plus the
  // tolerance, and again at the start: the cached verifier (filled at the first check) and an uncached one
  // must agree every time, on the outcome and on the problem code.
  const tolerance = config.jwt.clockToleranceSeconds * 1000
  const moments = [0, 899_000 + tolerance, 901_000 + tolerance, 0]
  const outcome = (work: Promise<unknown>) =>
    work.then(
      () => 'accepted',
      (error: unknown) => (error instanceof ProblemError ? error.code : `crash: ${String(error)}`),
    )
  let hits = 0
  await fc.assert(
    fc.asyncProperty(token, async (candidate) => {
      const clock = new ManualClock(now)
      const cached = verifier(100, clock)
      const fresh = verifier(0, clock)
      for (const moment of moments) {
        clock.advance(now + moment - clock.now())
        if (cached.cachedAccess(candidate)) hits++
        const [withCache, without] = await Promise.all([outcome(cached.verifyAccess(candidate)), outcome(fresh.verifyAccess(candidate))])
        if (withCache !== without) return false
      }
      return true
    }),
    { seed: SEED, numRuns: 2000 },
  )
  t.ok(hits > 10, `the cache answered some of the checks (${hits})`)
})
