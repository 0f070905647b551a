// Bench-only routes: who is calling, found the way server sessions find it (Django's `db` and `cache`
// session backends): an opaque id from the `sessionid` cookie, looked up on every request. They answer
// exactly what GET /me answers, through the same response schema, so the only difference measured is
// the lookup. Not part of the API: registered by bench/server/server.mjs only.
import { Redis } from 'ioredis'
import { meSchema } from '../../dist/auth/auth-schemas.js'
import { ProblemError } from '../../dist/errors/problem.js'

// Django's cookie name. The Redis key prefix comes from the harness (bench/setup/redis-sessions.ts).
export const SESSION_COOKIE = 'sessionid'

// Django's query: the key, and only while the session has not expired.
const SESSION_QUERY = 'SELECT session_data FROM bench_server_sessions WHERE session_key = ? AND expire_date > NOW(3)'

/** @param {import('fastify').FastifyRequest} request */
function sessionKeyOf(request) {
  const key = request.cookies[SESSION_COOKIE]
  if (!key) throw new ProblemError('token_missing', `Send the session id in the ${SESSION_COOKIE} cookie`)
  return key
}

/** @param {string | null | undefined} data */
function userOf(data) {
  if (!data) throw new ProblemError('token_invalid', 'No such session, or it has expired')
  const { id, email, role, emailVerified } = JSON.parse(data)
  return { id, email, role, emailVerified }
}

/**
 * @param {import('fastify').FastifyInstance} app
 * @param {{ pool: import('mariadb').Pool, redisUrl: string, redisPrefix: string }} options
 */
export default async function sessionRoutes(app, options) {
  // One ioredis connection pipelines every command, as a cache-backed session store would use it.
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  app.addHook('onClose', async () => {
    redis.disconnect()
  })

  const schema = { hide: true, response: { 200: meSchema } }

  app.get('/bench/session/mariadb', { schema }, async (request) => {
    const rows = await options.pool.query(SESSION_QUERY, [sessionKeyOf(request)])
    return userOf(rows[0]?.session_data)
  })

  app.get('/bench/session/redis', { schema }, async (request) => {
    return userOf(await redis.get(options.redisPrefix + sessionKeyOf(request)))
  })
}
