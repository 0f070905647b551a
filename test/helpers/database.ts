import { randomBytes } from 'node:crypto'
import { createDatabaseIfMissing, migrateDatabase, openSession } from '../../src/deploy/migrate.js'
import { TcpProxy } from './tcp-proxy.js'

/** Where the tests' databases live; each test gets a database of its own on this server. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306'

export function testDatabaseUrl(name: string): string {
  const url = new URL(TEST_SERVER_URL)
  url.pathname = `/${name}`
  return url.toString()
}

export interface TestDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Creates an empty database with a unique name, dropped when the test ends (or by the caller, with t: null). */
export async function createTestDatabase(t: Teardown | null, { migrate = true } = {}): Promise<TestDatabase> {
  const name = `jwt_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const url = testDatabaseUrl(name)
  await createDatabaseIfMissing(url)
  const database: TestDatabase = {
    name,
    url,
    async drop() {
      const session = await openSession(TEST_SERVER_URL)
      try {
        await session.query(`DROP DATABASE IF EXISTS \`${name}\``)
      } finally {
        await session.end()
      }
    },
  }
  t?.teardown(() => database.drop())
  if (migrate) await migrateDatabase(url, { builtIn: true })
  return database
}

/**
 * A fresh database reached through a TcpProxy the test controls: `url` goes through the proxy, so the
 * test can cut, stall or slow the database for the app without touching the shared server.
 */
export async function createProxiedTestDatabase(t: Teardown) {
  const database = await createTestDatabase(t)
  const proxy = new TcpProxy()
  await proxy.listen()
  t.teardown(() => proxy.close())
  const url = new URL(database.url)
  url.port = String(proxy.port)
  return { database, proxy, url: url.toString() }
}
