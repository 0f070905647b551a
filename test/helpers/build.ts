import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { ManualClock } from './clock.js'
import { createTestDatabase, type TestDatabase } from './database.js'
import { enforceContract } from './openapi-contract.js'

export interface TestApp {
  app: FastifyInstance
  config: Config
  clock: ManualClock
  database: TestDatabase
}

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Test settings: cheap bcrypt, quiet logs, no background pruning. Overridable per test. */
export const TEST_ENV: NodeJS.ProcessEnv = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  BCRYPT_COST: '4',
  PRUNE_INTERVAL_SECONDS: '0',
  COOKIE_SECURE: 'true',
  CORS_ORIGINS: 'https://app.example.com',
}

/**
 * The real app on a fresh, migrated database of its own, with a manual clock. Closed and dropped when
 * the test ends. Nothing listens on a port: tests talk to it with app.inject(), and every response is
 * checked against openapi.yaml.
 */
export async function build(
  t: Teardown,
  env: NodeJS.ProcessEnv = {},
  {
    clock = new ManualClock(),
    beforeReady,
    database: shared,
  }: {
    clock?: ManualClock
    beforeReady?: (app: FastifyInstance) => void
    /** Share a database another app of the test uses (and leave dropping it to its owner). */
    database?: TestDatabase
  } = {},
): Promise<TestApp> {
  const database = shared ?? (await createTestDatabase(null))
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: database.url, ...env })
  const app = await buildApp(config, { clock })
  t.teardown(async () => {
    await app.close()
    if (!shared) await database.drop()
  })
  beforeReady?.(app)
  await app.ready()
  enforceContract(app)
  return { app, config, clock, database }
}
