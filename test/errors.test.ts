import t, { type Test } from 'tap'
import { build } from './helpers/build.js'
import { PASSWORD, problemOf, uniqueEmail } from './helpers/http.js'

t.test('every error is an RFC 9457 problem', async (t) => {
  const { app } = await build(t)

  const expectProblem = (t: Test, response: Awaited<ReturnType<typeof app.inject>>, status: number, code: string) => {
    t.equal(response.statusCode, status)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    const problem = problemOf(response)
    t.same(Object.keys(problem).filter((key) => key !== 'errors').sort(), ['code', 'detail', 'status', 'title', 'type'])
    t.match(problem, { status, code, type: `/problems/${code}` })
    t.notMatch(response.body, /at .*\.(ts|js):\d+|SELECT|INSERT|prisma|mariadb/i, 'no stack, SQL or driver text')
  }

  t.test('404 for an unknown route', async (t) => {
    expectProblem(t, await app.inject({ method: 'GET', url: '/nowhere' }), 404, 'not_found')
    expectProblem(t, await app.inject({ method: 'PUT', url: '/me' }), 404, 'not_found')
  })

  t.test('413 for a body over the limit', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: uniqueEmail(), password: 'x'.repeat(20_000) }),
    })
    expectProblem(t, response, 413, 'payload_too_large')
  })

  t.test('415 for a body that is not JSON', async (t) => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': type },
        payload: 'email=a@b.c&password=12345678',
      })
      expectProblem(t, response, 415, 'unsupported_media_type')
    }
  })

  t.test('400 for malformed JSON, prototype keys, wrong types', async (t) => {
    const bodies = [
      '{"email": ',
      `{"email":"${uniqueEmail()}","password":"${PASSWORD}","__proto__":{"admin":true}}`,
      `{"email":"${uniqueEmail()}","password":"${PASSWORD}","constructor":{"prototype":{"admin":true}}}`,
      '[]',
      '"a string"',
      `{"email":42,"password":${PASSWORD.length}}`,
    ]
    for (const payload of bodies) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/register',
        headers: { 'content-type': 'application/json' },
        payload,
      })
      expectProblem(t, response, 400, 'validation_failed')
    }
  })

  t.test('every response carries a request id', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/health/live' })
    t.match(response.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  })
})

t.test('500 internal_error hides what went wrong', async (t) => {
  const { app } = await build(t, {}, {
    beforeReady: (app) => {
      app.get('/boom', async () => {
        throw new Error('SELECT password_hash FROM users failed at /srv/app/src/secret.ts:42')
      })
    },
  })
  const response = await app.inject({ url: '/boom' })
  t.equal(response.statusCode, 500)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(problemOf(response), { status: 500, code: 'internal_error', detail: 'Something went wrong on our side' })
  t.notMatch(response.body, /SELECT|password_hash|secret\.ts/)
})
