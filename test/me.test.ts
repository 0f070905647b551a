import t from 'tap'
import { build } from './helpers/build.js'
import { me, problemOf, session } from './helpers/http.js'
import { decodeJwt, tamper, unsigned } from './helpers/jwt.js'

t.test('GET /me', async (t) => {
  const { app, config, clock } = await build(t)
  const { user, tokens } = await session(app)

  t.test('answers from the token claims', async (t) => {
    const response = await me(app, tokens.accessToken)
    t.equal(response.statusCode, 200)
    t.same(response.json(), { id: user.id, email: user.email, role: 'user', emailVerified: false })
  })

  t.test('the access token carries the documented claims and header', async (t) => {
    const { header, payload } = decodeJwt(tokens.accessToken)
    t.match(header, { alg: 'RS256', typ: 'at+jwt', kid: config.jwt.keys.signing.kid })
    t.same(Object.keys(payload).sort(), ['aud', 'email', 'email_verified', 'exp', 'iat', 'iss', 'jti', 'role', 'sid', 'sub'])
    t.match(payload, { sub: user.id, email: user.email, role: 'user', email_verified: false, iss: config.jwt.issuer, aud: config.jwt.audience })
    t.equal(Number(payload.exp) - Number(payload.iat), config.jwt.accessTtlSeconds)
  })

  t.test('every bad token is a 401 problem with a Bearer challenge, never a 500', async (t) => {
    const cases: [string, Record<string, string>, string][] = [
      ['no Authorization header', {}, 'token_missing'],
      ['empty Authorization header', { authorization: '' }, 'token_missing'],
      ['Basic instead of Bearer', { authorization: 'Basic YWRhOnB3' }, 'token_invalid'],
      ['Bearer with nothing', { authorization: 'Bearer ' }, 'token_missing'],
      ['not a JWT', { authorization: 'Bearer abc.def' }, 'token_invalid'],
      ['base64 garbage', { authorization: 'Bearer e30.e30.e30' }, 'token_invalid'],
      ['tampered claims', { authorization: `Bearer ${tamper(tokens.accessToken, { payload: { role: 'admin' } })}` }, 'token_invalid'],
      ['alg none', { authorization: `Bearer ${unsigned(tokens.accessToken)}` }, 'token_invalid'],
      ['unknown kid', { authorization: `Bearer ${tamper(tokens.accessToken, { header: { kid: 'nope' } })}` }, 'token_invalid'],
      ['refresh token as access token', { authorization: `Bearer ${tokens.refreshToken}` }, 'token_invalid'],
      ['typ rewritten', { authorization: `Bearer ${tamper(tokens.refreshToken!, { header: { typ: 'at+jwt' } })}` }, 'token_invalid'],
      ['oversized token', { authorization: `Bearer ${'a'.repeat(5000)}` }, 'token_invalid'],
    ]
    for (const [name, headers, code] of cases) {
      const response = await app.inject({ method: 'GET', url: '/me', headers })
      t.equal(response.statusCode, 401, name)
      t.equal(problemOf(response).code, code, name)
      t.match(response.headers['content-type'], /^application\/problem\+json/, name)
      t.match(response.headers['www-authenticate'], /^Bearer realm="jwt-auth-api"/, name)
    }
  })

  t.test('expiry follows the clock, with the configured tolerance and no more', async (t) => {
    const fresh = (await session(app)).tokens.accessToken
    const lifetimeMs = config.jwt.accessTtlSeconds * 1000
    const toleranceMs = config.jwt.clockToleranceSeconds * 1000
    clock.advance(lifetimeMs + toleranceMs - 1000)
    t.equal((await me(app, fresh)).statusCode, 200, 'inside the tolerance (and served from the cache)')
    clock.advance(2000)
    const expired = await me(app, fresh)
    t.equal(expired.statusCode, 401)
    t.equal(problemOf(expired).code, 'token_expired')
    t.match(expired.headers['www-authenticate'], /error="invalid_token"/)
  })
})
