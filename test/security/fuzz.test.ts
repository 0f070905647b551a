import fc from 'fast-check'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { build } from '../helpers/build.js'
import { PASSWORD, session } from '../helpers/http.js'

// Property-based fuzzing of every public route: mutated bodies, headers and tokens. Fixed seed, so a
// failure reproduces; fast-check shrinks it to a small counterexample in the report.
const SEED = 20_261_125
const RUNS = 2000

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'

/** Ways to damage a real token: flip, insert or delete characters, swap or drop segments, or garble. */
function mutatedToken(token: string): fc.Arbitrary<string> {
  const segments = token.split('.')
  return fc.oneof(
    fc.tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet)).map(([at, c]) => token.slice(0, at) + c + token.slice(at + 1)),
    fc.tuple(fc.nat({ max: token.length }), fc.string({ minLength: 1, maxLength: 3 })).map(([at, s]) => token.slice(0, at) + s + token.slice(at)),
    fc.nat({ max: token.length - 1 }).map((at) => token.slice(0, at) + token.slice(at + 1)),
    fc.constantFrom(
      [segments[1], segments[0], segments[2]].join('.'),
      [segments[0], segments[1]].join('.'),
      `${segments[0]}.${segments[1]}.`,
      `${token}.${segments[2]}`,
      token.toUpperCase(),
    ),
    fc.string({ maxLength: 200 }),
    fc.base64String({ maxLength: 600 }),
  )
}

/** JSON-ish bodies: well-formed, wrong-typed, prototype-polluting, huge strings, or not JSON at all. */
const anyBody: fc.Arbitrary<{ payload: string; contentType: string | undefined }> = fc.oneof(
  fc.jsonValue().map((value) => ({ payload: JSON.stringify(value) ?? 'null', contentType: 'application/json' })),
  fc
    .record({
      email: fc.oneof(fc.emailAddress(), fc.string(), fc.integer(), fc.constant(null)),
      password: fc.oneof(fc.string({ maxLength: 1100 }), fc.constant(PASSWORD), fc.integer(), fc.array(fc.string())),
      transport: fc.oneof(fc.constantFrom('body', 'cookie'), fc.string()),
      rememberMe: fc.oneof(fc.boolean(), fc.string()),
      refreshToken: fc.oneof(fc.string({ maxLength: 5000 }), fc.integer()),
      currentPassword: fc.string({ maxLength: 50 }),
      newPassword: fc.string({ maxLength: 50 }),
    }, { requiredKeys: [] })
    .map((value) => ({ payload: JSON.stringify(value), contentType: 'application/json' })),
  fc.constantFrom(
    '{"__proto__":{"role":"admin"}}',
    '{"constructor":{"prototype":{"role":"admin"}}}',
    '{"email":"a@b.co","password":"x","__proto__":null}',
    '{', '', '[]', 'null', '"string"', '1e999',
  ).map((payload) => ({ payload, contentType: 'application/json' })),
  fc.tuple(fc.string({ maxLength: 300 }), fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', undefined)).map(
    ([payload, contentType]) => ({ payload, contentType }),
  ),
)

const anyHeaderValue = fc.oneof(fc.string({ maxLength: 100 }), fc.constantFrom('XMLHttpRequest', 'Bearer', 'Bearer ', ''))

function checkAnswer(response: LightMyRequestResponse): void {
  if (response.statusCode >= 500) throw new Error(`5xx: ${response.statusCode} ${response.body}`)
  if (response.statusCode >= 400) {
    if (!String(response.headers['content-type']).startsWith('application/problem+json')) {
      throw new Error(`error without problem+json: ${response.statusCode} ${response.headers['content-type']}`)
    }
    const problem = response.json() as { code?: unknown; status?: unknown }
    if (typeof problem.code !== 'string' || problem.status !== response.statusCode) {
      throw new Error(`malformed problem: ${response.body}`)
    }
  }
}

t.test('fuzzing every public route: no 5xx, every error a problem, no mutated token accepted', async (t: Test) => {
  // High request budgets: this test is about malformed input, not about rate limits.
  const { app } = await build(t, { AUTH_REQUESTS_PER_MINUTE: '1000000', LOGIN_FAILURES_PER_ACCOUNT: '1000000', LOGIN_FAILURES_PER_IP: '1000000' })
  const { tokens } = await session(app)
  const access = tokens.accessToken
  const refreshToken = tokens.refreshToken!
  const inject = (options: InjectOptions) => app.inject(options)

  const property = (name: string, arbitrary: fc.Arbitrary<InjectOptions>, accepted?: (r: LightMyRequestResponse, o: InjectOptions) => string | undefined) =>
    t.test(name, async (t) => {
      let count = 0
      await fc.assert(
        fc.asyncProperty(arbitrary, async (options) => {
          count++
          const response = await inject(options)
          checkAnswer(response)
          const problem = accepted?.(response, options)
          if (problem) throw new Error(problem)
        }),
        { seed: SEED, numRuns: RUNS },
      )
      t.equal(count >= RUNS, true, `${count} requests`)
    })

  const bodyRoute = (url: string) =>
    fc.tuple(anyBody, fc.option(anyHeaderValue), fc.option(fc.string({ maxLength: 200 }))).map(([body, csrf, cookie]) => ({
      method: 'POST' as const,
      url,
      payload: body.payload,
      headers: {
        ...(body.contentType ? { 'content-type': body.contentType } : {}),
        ...(csrf !== null ? { 'x-requested-with': csrf } : {}),
        ...(cookie !== null ? { cookie: `refresh_token=${cookie}` } : {}),
      },
    }))

  await property('POST /auth/register', bodyRoute('/auth/register'))
  await property('POST /auth/login', bodyRoute('/auth/login'), (response) =>
    response.statusCode === 200 ? 'a fuzzed login succeeded' : undefined,
  )

  for (const url of ['/auth/refresh', '/auth/logout']) {
    const mutatedRefresh = mutatedToken(refreshToken).filter((token) => token !== refreshToken)
    await property(
      `POST ${url} with mutated refresh tokens (body and cookie)`,
      fc.tuple(mutatedRefresh, fc.boolean()).map(([token, inCookie]) =>
        inCookie
          ? { method: 'POST' as const, url, headers: { cookie: `refresh_token=${encodeURIComponent(token)}`, 'x-requested-with': 'XMLHttpRequest' } }
          : { method: 'POST' as const, url, payload: { refreshToken: token } },
      ),
      (response) => (response.statusCode < 400 ? `a mutated refresh token was accepted (${response.statusCode})` : undefined),
    )
    await property(`POST ${url} with fuzzed bodies`, bodyRoute(url))
  }

  const mutatedAccess = mutatedToken(access).filter((token) => token !== access)
  const bearer = (method: 'GET' | 'POST', url: string) =>
    fc.tuple(fc.oneof(mutatedAccess.map((token) => `Bearer ${token}`), fc.string({ maxLength: 300 }), mutatedAccess), fc.option(anyBody)).map(
      ([authorization, body]) => ({
        method,
        url,
        headers: { authorization, ...(body?.contentType ? { 'content-type': body.contentType } : {}) },
        ...(body ? { payload: body.payload } : {}),
      }),
    )
  const refusedAccess = (response: LightMyRequestResponse) =>
    response.statusCode < 400 ? `a mutated access token was accepted (${response.statusCode})` : undefined
  await property('GET /me with mutated access tokens', bearer('GET', '/me'), refusedAccess)
  await property('POST /auth/logout-all with mutated access tokens', bearer('POST', '/auth/logout-all'), refusedAccess)
  await property('POST /me/password with mutated access tokens', bearer('POST', '/me/password'), refusedAccess)
  await property(
    'POST /me/password with a valid token and fuzzed bodies',
    bodyRoute('/me/password').map((options) => ({ ...options, headers: { ...options.headers, authorization: `Bearer ${access}` } })),
    (response) => (response.statusCode === 204 ? 'a fuzzed password change succeeded' : undefined),
  )

  for (const url of ['/.well-known/jwks.json', '/health/live', '/health/ready']) {
    await property(
      `GET ${url} with fuzzed headers and query strings`,
      fc.tuple(fc.string({ maxLength: 100 }), anyHeaderValue).map(([query, value]) => ({
        method: 'GET' as const,
        url: `${url}?${encodeURIComponent(query)}`,
        headers: { authorization: value, cookie: value },
      })),
    )
  }
})
