import t from 'tap'
import { createProxiedTestDatabase } from '../helpers/database.js'
import { decodeJwt } from '../helpers/jwt.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'
import { generateRefreshSecret, generateSigningKey, startServer } from '../helpers/server-process.js'
import { openSession } from '../../src/deploy/migrate.js'

const post = (url: string, body: object) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

/**
 * SIGKILL the server while refreshes are at every stage (before, during and after the denylist insert),
 * restart it, and check each interrupted refresh token: the client can still refresh with it (inside the
 * grace window) and always gets one and the same successor; no token ever has two successors.
 */
t.test('a refresh killed at any moment loses neither the token nor its successor', async (t) => {
  const { database, proxy, url } = await createProxiedTestDatabase(t)
  const env = {
    DATABASE_URL: url,
    JWT_PRIVATE_KEY: generateSigningKey(),
    REFRESH_TOKEN_SECRET: generateRefreshSecret(),
    REFRESH_REUSE_GRACE_SECONDS: '60',
  }
  const session = await openSession(database.url)
  t.teardown(() => session.end())

  const outcomes = { committedBeforeKill: 0, notCommitted: 0 }
  for (let round = 0; round < 3; round++) {
    const server = await startServer(env)
    const families = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const email = uniqueEmail('crash')
        await post(`${server.url}/auth/register`, { email, password: PASSWORD })
        return ((await (await post(`${server.url}/auth/login`, { email, password: PASSWORD })).json()) as { refreshToken: string }).refreshToken
      }),
    )
    // Each database answer takes 25 ms and the refreshes start 15 ms apart, so they are spread over every
    // stage; the kill comes the moment the first denylist insert has committed (watched directly, not
    // through the proxy), when the others are still before or inside theirs.
    proxy.latencyMs = 25
    const jtis = families.map((token) => decodeJwt(token).payload.jti as string)
    const inFlight = families.map(
      (token, i) =>
        new Promise<void>((resolve) =>
          setTimeout(() => void post(`${server.url}/auth/refresh`, { refreshToken: token }).catch(() => undefined).finally(resolve), i * 15),
        ),
    )
    for (;;) {
      const [found] = await session.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM revoked_tokens WHERE id IN (?)', [jtis])
      if (Number(found?.count) > 0) break
    }
    server.child.kill('SIGKILL')
    await server.exited
    await Promise.all(inFlight)
    proxy.latencyMs = 0

    const restarted = await startServer(env)
    for (const token of families) {
      const { jti } = decodeJwt(token).payload as { jti: string }
      const [row] = await session.query<{ successor_jti: string | null }[]>('SELECT successor_jti FROM revoked_tokens WHERE id = ?', [jti])
      if (row) outcomes.committedBeforeKill++
      else outcomes.notCommitted++

      const first = await post(`${restarted.url}/auth/refresh`, { refreshToken: token })
      t.equal(first.status, 200, 'the interrupted token still refreshes')
      const successor = ((await first.json()) as { refreshToken: string }).refreshToken
      const successorJti = decodeJwt(successor).payload.jti
      if (row) t.equal(successorJti, row.successor_jti, 'the successor recorded before the crash is the one handed out')

      const again = await post(`${restarted.url}/auth/refresh`, { refreshToken: token })
      t.equal(((await again.json()) as { refreshToken: string }).refreshToken, successor, 'asked again: the same successor')
      t.equal((await post(`${restarted.url}/auth/refresh`, { refreshToken: successor })).status, 200, 'the successor works')
    }
    restarted.child.kill('SIGTERM')
    t.equal(await restarted.exited, 0)
  }

  const [forks] = await session.query<{ branches: bigint }[]>(
    "SELECT COUNT(*) AS branches FROM (SELECT id FROM revoked_tokens WHERE scope = 'token' GROUP BY id HAVING COUNT(DISTINCT successor_jti) > 1) AS forks",
  )
  t.equal(Number(forks?.branches), 0, 'no token has two successors')
  t.ok(outcomes.committedBeforeKill > 0 && outcomes.notCommitted > 0, `both sides of the commit point were hit: ${JSON.stringify(outcomes)}`)
})
