import t from 'tap'
import { build } from '../helpers/build.js'
import { ManualClock } from '../helpers/clock.js'
import { createTestDatabase } from '../helpers/database.js'
import { login, post, problemOf, refresh, registerUser, PASSWORD, type Tokens } from '../helpers/http.js'
import { generateRefreshSecret, generateSigningKey } from '../helpers/server-process.js'

const NEW_PASSWORD = 'a brand new, much longer passphrase 42'

/**
 * User-wide revocation (logout-all, a password change) raced the way an audit broke it: many users at
 * once on two instances, and logins in flight while the password changes. Both instances share one
 * database and one manual clock, so every call lands "in the same millisecond", the case that used to
 * collide.
 */
t.test('user-wide revocation on two instances', async (t) => {
  const database = await createTestDatabase(t)
  const clock = new ManualClock()
  const env = {
    JWT_PRIVATE_KEY: generateSigningKey(),
    REFRESH_TOKEN_SECRET: generateRefreshSecret(),
    LOGIN_FAILURES_PER_IP: '10000',
    AUTH_REQUESTS_PER_MINUTE: '100000',
  }
  const [a, b] = await Promise.all([build(t, env, { database, clock }), build(t, env, { database, clock })])
  const instances = [a.app, b.app]

  t.test('concurrent logout-alls of different users never lose one', async (t) => {
    const users = await Promise.all(Array.from({ length: 24 }, () => registerUser(a.app)))
    const logins = await Promise.all(users.map((user, i) => login(instances[i % 2]!, user.email)))
    const answers = await Promise.all(
      logins.map((tokens, i) =>
        instances[i % 2]!.inject({ method: 'POST', url: '/auth/logout-all', headers: { authorization: `Bearer ${tokens.accessToken}` } }),
      ),
    )
    t.same(answers.map((answer) => answer.statusCode), Array(users.length).fill(204))
    const refreshed = await Promise.all(logins.map((tokens, i) => refresh(instances[(i + 1) % 2]!, tokens.refreshToken!)))
    const survivors = refreshed.filter((answer) => answer.statusCode !== 401 || problemOf(answer).code !== 'token_revoked')
    t.equal(survivors.length, 0, `${users.length} logout-alls in one millisecond, ${survivors.length} logins survived`)
    // A login after the logout-all is a new session and works.
    const fresh = await login(b.app, users[0]!.email)
    t.equal((await refresh(a.app, fresh.refreshToken!)).statusCode, 200)
  })

  t.test('logins in flight with the old password never survive a password change', async (t) => {
    const user = await registerUser(a.app)
    const victim = await login(a.app, user.email)
    const minted: Promise<Tokens | undefined>[] = []
    let changed = false
    // An attacker who knows the old password keeps logging in on both instances while the victim changes it.
    const attacker = (async () => {
      for (let i = 0; !changed && i < 400; i++) {
        minted.push(
          post(instances[i % 2]!, '/auth/login', { email: user.email, password: PASSWORD }).then((answer) =>
            answer.statusCode === 200 ? answer.json<Tokens>() : undefined,
          ),
        )
        // Keep a few logins in bcrypt at every moment, within the password queue's bound.
        if (minted.length % 3 === 0) await minted.at(-1)
      }
    })()
    await new Promise((resolve) => setImmediate(resolve))
    const change = await b.app.inject({
      method: 'POST',
      url: '/me/password',
      headers: { authorization: `Bearer ${victim.accessToken}` },
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    })
    // Logins still in flight now mint "after" the change, by the clock.
    clock.advance(5)
    changed = true
    t.equal(change.statusCode, 204)
    await attacker
    const tokens = (await Promise.all(minted)).filter((item): item is Tokens => item !== undefined)
    t.ok(tokens.length > 0, `${tokens.length} logins with the old password got tokens`)
    const refreshed = await Promise.all(tokens.map((item, i) => refresh(instances[i % 2]!, item.refreshToken!)))
    const alive = refreshed.filter((answer) => answer.statusCode === 200).length
    t.equal(alive, 0, `of ${tokens.length} logins raced against the change, ${alive} still refresh`)
    t.equal((await post(a.app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 401, 'the old password is gone')
  })

  t.test('a logout-all in flight with a refresh: the successor is revoked too', async (t) => {
    const user = await registerUser(a.app)
    const tokens = await login(a.app, user.email)
    const [rotated, loggedOut] = await Promise.all([
      refresh(a.app, tokens.refreshToken!),
      b.app.inject({ method: 'POST', url: '/auth/logout-all', headers: { authorization: `Bearer ${tokens.accessToken}` } }),
    ])
    t.equal(loggedOut.statusCode, 204)
    if (rotated.statusCode === 200) {
      const successor = rotated.json<Tokens>().refreshToken!
      t.equal(problemOf(await refresh(b.app, successor)).code, 'token_revoked', 'a successor minted during the logout-all is dead')
    } else {
      t.equal(problemOf(rotated).code, 'token_revoked')
    }
  })
})
