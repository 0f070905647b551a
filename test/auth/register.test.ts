import t from 'tap'
import { build } from '../helpers/build.js'
import { PASSWORD, post, problemOf, uniqueEmail } from '../helpers/http.js'

t.test('POST /auth/register', async (t) => {
  const { app } = await build(t)

  t.test('creates a user and returns it without any secret', async (t) => {
    const email = uniqueEmail('new')
    const response = await post(app, '/auth/register', { email: `  ${email.toUpperCase()} `, password: PASSWORD })
    t.equal(response.statusCode, 201)
    const body = response.json()
    t.same(Object.keys(body).sort(), ['createdAt', 'email', 'emailVerified', 'id', 'role'])
    t.equal(body.emailVerified, false, 'nobody has opened a link yet')
    t.equal(body.email, email, 'email is trimmed and lower-cased')
    t.equal(body.role, 'user')
    t.match(body.id, /^[0-9a-f-]{36}$/)
    t.ok(!Number.isNaN(Date.parse(body.createdAt)))
  })

  t.test('refuses an email that differs only in case and spaces: 409 email_taken', async (t) => {
    const email = uniqueEmail('dup')
    t.equal((await post(app, '/auth/register', { email, password: PASSWORD })).statusCode, 201)
    const response = await post(app, '/auth/register', { email: ` ${email.toUpperCase()}`, password: PASSWORD })
    t.equal(response.statusCode, 409)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(problemOf(response), { status: 409, code: 'email_taken', type: '/problems/email_taken' })
  })

  t.test('validates the body: 400 validation_failed with a list of errors', async (t) => {
    const cases: [string, object, string][] = [
      ['not an email', { email: 'nope', password: PASSWORD }, 'email'],
      ['short password', { email: uniqueEmail(), password: 'short' }, 'password'],
      ['1025 characters', { email: uniqueEmail(), password: 'x'.repeat(1025) }, 'password'],
      ['missing password', { email: uniqueEmail() }, 'password'],
      ['unknown field', { email: uniqueEmail(), password: PASSWORD, role: 'admin' }, ''],
    ]
    for (const [name, payload, path] of cases) {
      const response = await post(app, '/auth/register', payload)
      t.equal(response.statusCode, 400, name)
      const problem = problemOf(response)
      t.equal(problem.code, 'validation_failed', name)
      t.ok(Array.isArray(problem.errors) && problem.errors.length > 0, `${name}: errors[] lists the problems`)
      t.ok(
        problem.errors?.some((error) => (error as { path: string }).path === (path ? `body.${path}` : 'body')),
        `${name}: names ${path || 'the body'}`,
      )
    }
  })

  t.test('counts characters, not bytes: 8 emoji and 1024 multi-byte characters are accepted', async (t) => {
    const emoji = ['🔑', '🐢', '🌵', '🚲', '🎻', '🧭', '🪁', '🍄']
    t.equal((await post(app, '/auth/register', { email: uniqueEmail(), password: emoji.join('') })).statusCode, 201)
    t.equal((await post(app, '/auth/register', { email: uniqueEmail(), password: emoji.slice(1).join('') })).statusCode, 400)
    const passphrase = 'Zürich Ærøskøbing Łódź Ñandú 東京 '
    const long = passphrase + 'é'.repeat(1024 - [...passphrase].length)
    t.equal([...long].length, 1024)
    t.equal((await post(app, '/auth/register', { email: uniqueEmail(), password: long })).statusCode, 201)
    t.equal((await post(app, '/auth/register', { email: uniqueEmail(), password: `${long}é` })).statusCode, 400)
  })

  t.test('refuses common and easily guessed passwords, saying why', async (t) => {
    const email = uniqueEmail('weak')
    for (const password of ['password1', 'qwertyuiop', 'P@ssw0rd!', '12345678910', email]) {
      const response = await post(app, '/auth/register', { email, password })
      t.equal(response.statusCode, 400, password)
      const problem = problemOf(response)
      t.equal(problem.code, 'validation_failed')
      t.match(problem.errors, [{ path: 'body.password', message: /^is too easy to guess/ }], password)
    }
    t.match(problemOf(await post(app, '/auth/register', { email, password: 'password1' })).detail, /commonly used password/)
  })
})
