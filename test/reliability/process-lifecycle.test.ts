import t from 'tap'
import { createTestDatabase, testDatabaseUrl } from '../helpers/database.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'
import { startServer, within } from '../helpers/server-process.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'
import { openSession } from '../../src/deploy/migrate.js'

const json = (url: string, body?: object, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: body ? 'POST' : 'GET',
    headers: body ? { 'content-type': 'application/json', ...headers } : headers,
    body: body ? JSON.stringify(body) : undefined,
  })

t.test('SIGTERM: stops accepting, finishes the login in progress, closes everything, exits 0', async (t) => {
  const database = await createTestDatabase(t)
  // Cost 14 makes one bcrypt take a good fraction of a second: the login is surely in flight at SIGTERM.
  const server = await startServer({ DATABASE_URL: database.url, BCRYPT_COST: '14', LOG_LEVEL: 'debug' })
  const email = uniqueEmail('shutdown')
  t.equal((await json(`${server.url}/auth/register`, { email, password: PASSWORD })).status, 201)

  const login = json(`${server.url}/auth/login`, { email, password: PASSWORD })
  await server.waitForLine(/"url":"\/auth\/login"/)
  const signalled = Date.now()
  server.child.kill('SIGTERM')
  await server.waitForLine(/closing: finishing in-flight requests/)

  const response = await login
  t.equal(response.status, 200, 'the login in progress completed')
  t.equal(response.headers.get('connection'), 'close', 'the answer ends its keep-alive connection')
  t.ok(((await response.json()) as { accessToken?: string }).accessToken)
  await t.rejects(json(`${server.url}/health/live`), 'new connections are refused once closing')
  t.equal(await server.exited, 0, 'exit code 0')
  t.ok(Date.now() - signalled < 10_000, `exited ${Date.now() - signalled} ms after SIGTERM`)
})

t.test('start-up without a database: live 200, ready 503, then everything works once it appears', async (t) => {
  const proxy = new TcpProxy()
  await proxy.listen()
  t.teardown(() => proxy.close())
  proxy.cut()
  // A database that does not exist yet: the server must create and migrate it when MariaDB shows up.
  const name = `jwt_test_${process.pid}_late`
  const url = new URL(testDatabaseUrl(name))
  url.port = String(proxy.port)
  t.teardown(async () => {
    const session = await openSession(testDatabaseUrl(''))
    await session.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await session.end()
  })

  const server = await startServer({ DATABASE_URL: url.toString(), MIGRATE_ON_START: 'true' })
  t.teardown(() => server.child.kill('SIGKILL'))
  t.equal((await fetch(`${server.url}/health/live`)).status, 200)
  const ready = await fetch(`${server.url}/health/ready`)
  t.equal(ready.status, 503)
  t.equal(((await ready.json()) as { code: string }).code, 'service_unavailable')
  t.equal((await json(`${server.url}/auth/register`, { email: uniqueEmail(), password: PASSWORD })).status, 503)

  proxy.restore()
  const took = await within(15_000, async () => (await fetch(`${server.url}/health/ready`)).status === 200)
  t.pass(`ready ${took} ms after the database appeared, with no restart`)
  // Ready follows the migration's bookkeeping; its log line may still be on its way through the pipe.
  await within(5_000, async () => server.lines.some((line) => /Applied migration 20261125090000_init/.test(line)))
  t.pass('migrated once it could')
  const email = uniqueEmail('late')
  t.equal((await json(`${server.url}/auth/register`, { email, password: PASSWORD })).status, 201)
  t.equal((await json(`${server.url}/auth/login`, { email, password: PASSWORD })).status, 200)
})
