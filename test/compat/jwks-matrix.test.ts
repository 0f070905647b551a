// The compatibility matrix: a real access token from a server running each asymmetric algorithm we offer,
// verified through the published JWK Set by the libraries other services use, each configured the way its
// docs say (signature via JWKS, iss, aud, exp; typ where the library cannot, by hand). The expected
// matrix is written down here and in the README; reality must equal both, so none of the three can rot.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createSigner } from 'fast-jwt'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import jwksRsa from 'jwks-rsa'
import t from 'tap'
import { buildResourceServer } from '../../examples/resource-server/app.js'
import { DEFAULT_SIGNING_ALGORITHM } from '../../src/tokens/signing-keys.js'
import { build } from '../helpers/build.js'
import { session } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'

const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const
type Algorithm = (typeof ALGORITHMS)[number]

const VERIFIERS = [
  'jose `createRemoteJWKSet`',
  '`jsonwebtoken` + `jwks-rsa`',
  '`@fastify/jwt` + `get-jwks`',
  'PyJWT `PyJWKClient` (Python)',
] as const
type Verifier = (typeof VERIFIERS)[number]

/** Which verifiers accept a valid token of which algorithm. The README table says the same (checked below). */
const EXPECTED: Record<Verifier, Record<Algorithm, boolean>> = {
  'jose `createRemoteJWKSet`': { EdDSA: true, ES256: true, RS256: true },
  // jsonwebtoken 9 knows no EdDSA: "invalid algorithm" unless EdDSA is allowed, then 'Unknown key type "ed25519"'.
  '`jsonwebtoken` + `jwks-rsa`': { EdDSA: false, ES256: true, RS256: true },
  // get-jwks turns JWKs into PEM with jwk-to-pem, which has no OKP keys ("Unsupported key type OKP").
  '`@fastify/jwt` + `get-jwks`': { EdDSA: false, ES256: true, RS256: true },
  'PyJWT `PyJWKClient` (Python)': { EdDSA: true, ES256: true, RS256: true },
}

/** One valid token and the ways a token must be refused by anyone who checks what the README says. */
const CASES = ['valid', 'expired', 'wrong audience', 'wrong issuer', 'refresh token'] as const
type Case = (typeof CASES)[number]
type Tokens = Record<Case, string>
/** 'ok', or why the verifier refused. */
type Outcomes = Record<Case, string>

interface Target {
  baseUrl: string
  jwksUrl: string
  issuer: string
  audience: string
}

// The algorithms every resource server here is told to accept; never HS256 next to public keys.
const ACCEPTED = ['EdDSA', 'ES256', 'RS256']

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error))

async function eachCase(tokens: Tokens, verify: (token: string) => Promise<void>): Promise<Outcomes> {
  const outcomes = {} as Outcomes
  for (const name of CASES) {
    outcomes[name] = await verify(tokens[name]).then(
      () => 'ok',
      (error: unknown) => reason(error),
    )
  }
  return outcomes
}

const verifiers: Record<Verifier, (target: Target, tokens: Tokens) => Promise<Outcomes>> = {
  // https://github.com/panva/jose/blob/main/docs/jwks/remote/functions/createRemoteJWKSet.md
  'jose `createRemoteJWKSet`': async (target, tokens) => {
    const jwks = createRemoteJWKSet(new URL(target.jwksUrl))
    return eachCase(tokens, async (token) => {
      await jwtVerify(token, jwks, {
        issuer: target.issuer,
        audience: target.audience,
        typ: 'at+jwt',
        algorithms: ACCEPTED,
        clockTolerance: 5,
      })
    })
  },

  // https://github.com/auth0/node-jwks-rsa#usage (the jsonwebtoken example)
  '`jsonwebtoken` + `jwks-rsa`': async (target, tokens) => {
    const client = jwksRsa({ jwksUri: target.jwksUrl, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 })
    const getKey: jsonwebtoken.GetPublicKeyOrSecret = (header, callback) => {
      client.getSigningKey(header.kid).then(
        (key) => callback(null, key.getPublicKey()),
        (error: Error) => callback(error),
      )
    }
    return eachCase(
      tokens,
      (token) =>
        new Promise<void>((resolve, reject) => {
          const options = {
            issuer: target.issuer,
            audience: target.audience,
            // jsonwebtoken's types do not list EdDSA; it is named so the refusal is jsonwebtoken's own.
            algorithms: ACCEPTED as jsonwebtoken.Algorithm[],
            clockTolerance: 5,
            complete: true as const,
          }
          jsonwebtoken.verify(token, getKey, options, (error, decoded) => {
            if (error) return reject(error)
            // jsonwebtoken does not check typ (RFC 9068 says to): by hand.
            if ((decoded as jsonwebtoken.Jwt | undefined)?.header.typ !== 'at+jwt') return reject(new Error('typ is not at+jwt'))
            resolve()
          })
        }),
    )
  },

  // The resource server in examples/resource-server, exactly as it runs.
  '`@fastify/jwt` + `get-jwks`': async (target, tokens) => {
    const refusals: string[] = []
    const app = buildResourceServer({
      authServerUrl: target.baseUrl,
      issuer: target.issuer,
      audience: target.audience,
      logger: {
        level: 'info',
        stream: {
          write: (line: string) => {
            const { reason: why } = JSON.parse(line) as { reason?: string }
            if (why) refusals.push(why)
          },
        },
      },
    })
    try {
      await app.ready()
      return await eachCase(tokens, async (token) => {
        const response = await app.inject({ url: '/hello', headers: { authorization: `Bearer ${token}` } })
        if (response.statusCode !== 200) throw new Error(`${response.statusCode}: ${refusals.at(-1) ?? response.body}`)
      })
    } finally {
      await app.close()
    }
  },

  // test/compat/pyjwt-verify.py under Debian's Python, which has python3-jwt and python3-cryptography.
  'PyJWT `PyJWKClient` (Python)': async (target, tokens) => {
    const script = fileURLToPath(new URL('./pyjwt-verify.py', import.meta.url))
    const child = spawn('/usr/bin/python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdin.end(JSON.stringify({ jwksUrl: target.jwksUrl, issuer: target.issuer, audience: target.audience, tokens }))
    const [code] = (await once(child, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`pyjwt-verify.py exited with ${code}: ${stderr}`)
    return JSON.parse(stdout) as Outcomes
  },
}

/** The README's table under "Verifying tokens in your other services": verifier → algorithm → ✓/✗. */
function readmeMatrix(): Record<string, Record<string, boolean>> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.split('\n## Verifying tokens in your other services')[1]?.split('\n## ')[0] ?? ''
  // The table whose header row starts with "| verifier |", up to its first non-table line.
  const lines = section.split('\n')
  const start = lines.findIndex((line) => line.startsWith('| verifier |'))
  const end = lines.findIndex((line, index) => index > start && !line.startsWith('|'))
  const rows = start < 0 ? [] : lines.slice(start, end < 0 ? undefined : end)
  const header = (rows[0] ?? '').split('|').slice(1, -1).map((cell) => cell.trim())
  const matrix: Record<string, Record<string, boolean>> = {}
  for (const row of rows.slice(2)) {
    const [name = '', ...cells] = row.split('|').slice(1, -1).map((cell) => cell.trim())
    matrix[name] = Object.fromEntries(cells.map((cell, index) => [header[index + 1] ?? '', cell.startsWith('✓')]))
  }
  return matrix
}

function formatMatrix(results: Record<Verifier, Record<Algorithm, string>>): string {
  const width = Math.max(...VERIFIERS.map((name) => name.length))
  const lines = [`${'verifier'.padEnd(width)}  ${ALGORITHMS.map((a) => a.padEnd(6)).join(' ')}`]
  for (const name of VERIFIERS) {
    const cells = ALGORITHMS.map((algorithm) => (results[name][algorithm] === 'ok' ? '✓' : '✗').padEnd(6))
    lines.push(`${name.padEnd(width)}  ${cells.join(' ')}`)
  }
  for (const name of VERIFIERS) {
    for (const algorithm of ALGORITHMS) {
      if (results[name][algorithm] !== 'ok') lines.push(`✗ ${name}, ${algorithm}: ${results[name][algorithm]}`)
    }
  }
  return lines.join('\n')
}

t.test('JWKS compatibility matrix', async (t) => {
  const results = Object.fromEntries(VERIFIERS.map((name) => [name, {}])) as Record<Verifier, Record<Algorithm, string>>

  for (const algorithm of ALGORITHMS) {
    await t.test(`${algorithm}: a live server, its JWKS and a real access token`, async (t) => {
      const { app, config } = await build(t, { JWT_ALGORITHM: algorithm })
      await app.listen({ host: '127.0.0.1', port: 0 })
      const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
      const { issuer, audience } = config.jwt
      const target: Target = { baseUrl, jwksUrl: `${baseUrl}/.well-known/jwks.json`, issuer, audience }

      // The real tokens of a login, and forgeries signed with the server's own key that differ in one claim.
      const { tokens } = await session(app)
      const { header, payload } = decodeJwt(tokens.accessToken) as { header: { kid: string }; payload: Record<string, unknown> }
      const sign = (claims: Record<string, unknown>) =>
        createSigner({ key: config.jwt.keys.signing.key, algorithm, kid: header.kid, ...{ typ: 'at+jwt' } })({
          ...payload,
          ...claims,
        })
      const now = Math.floor(Date.now() / 1000)
      const cases: Tokens = {
        valid: tokens.accessToken,
        expired: sign({ iat: now - 1800, exp: now - 900 }),
        'wrong audience': sign({ aud: 'another-service' }),
        'wrong issuer': sign({ iss: 'https://evil.example.com' }),
        'refresh token': tokens.refreshToken!,
      }

      for (const name of VERIFIERS) {
        const outcomes = await verifiers[name](target, cases)
        results[name][algorithm] = outcomes.valid
        t.equal(outcomes.valid === 'ok', EXPECTED[name][algorithm], `${name}: a valid ${algorithm} token ${EXPECTED[name][algorithm] ? 'verifies' : 'is refused'}`, {
          outcome: outcomes.valid,
        })
        for (const bad of CASES.filter((name) => name !== 'valid')) {
          t.not(outcomes[bad], 'ok', `${name}: ${algorithm}, ${bad}: refused`)
        }
      }
    })
  }

  t.comment(`\n${formatMatrix(results)}`)
  // The default must be one that every verifier here accepts (bench/README.md says why RS256 of those).
  t.ok(VERIFIERS.every((name) => EXPECTED[name][DEFAULT_SIGNING_ALGORITHM as Algorithm]), `the default, ${DEFAULT_SIGNING_ALGORITHM}, verifies everywhere`)
  t.same(readmeMatrix(), EXPECTED, 'the README table is the expected matrix')
})
