import { randomUUID } from 'node:crypto'
import t from 'tap'
import { loadDatabaseConfig } from '../../src/config.js'
import { openDatabase } from '../../src/db/prisma.js'
import { createDenylistPruner, MAX_CLOCK_TOLERANCE_SECONDS } from '../../src/tokens/denylist-pruner.js'
import { createRevokedTokenRepository } from '../../src/tokens/revoked-token-repository.js'
import { ManualClock } from '../helpers/clock.js'
import { createTestDatabase } from '../helpers/database.js'
import { openSession } from '../../src/deploy/migrate.js'

t.test('pruning deletes rows expired past any clock tolerance only, in batches, reporting progress', async (t) => {
  const database = await createTestDatabase(t)
  const session = await openSession(database.url)
  t.teardown(() => session.end())
  const userId = randomUUID()
  await session.query("INSERT INTO users (id, email, password_hash, updated_at) VALUES (?, 'prune@example.com', 'x', NOW(3))", [userId])
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 12))
  const row = (expiresAt: Date) => [randomUUID(), 'token', userId, 'rotated', new Date(clock.now() - 86_400_000), expiresAt]
  const toleranceMs = MAX_CLOCK_TOLERANCE_SECONDS * 1000
  const expired = Array.from({ length: 2500 }, (_, i) => row(new Date(clock.now() - toleranceMs - 1 - i)))
  // Expired, but a verifier with the largest tolerance still accepts their tokens: they must stay.
  const tolerated = Array.from({ length: 5 }, (_, i) => row(new Date(clock.now() - toleranceMs + 1 + i * 5000)))
  const live = Array.from({ length: 5 }, () => row(new Date(clock.now() + 60_000)))
  await session.batch(
    'INSERT INTO revoked_tokens (id, scope, user_id, reason, revoked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    [...expired, ...tolerated, ...live],
  )

  const db = openDatabase(loadDatabaseConfig({ DATABASE_URL: database.url, DB_OPERATION_TIMEOUT_MS: "5000" }))
  t.teardown(() => db.close())
  const pruner = createDenylistPruner({ revocations: createRevokedTokenRepository(db.prisma), clock })
  const progress: number[] = []
  const deleted = await pruner.prune({ batchSize: 1000, pauseMs: 0, onBatch: (total) => progress.push(total) })
  t.equal(deleted, 2500)
  t.same(progress, [1000, 2000, 2500], 'one statement per batch of at most 1000')
  const [left] = await session.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM revoked_tokens')
  t.equal(Number(left?.count), 10, 'rows within the tolerance and rows that have not expired stay')
  t.equal(await pruner.prune({ pauseMs: 0 }), 0, 'a second run finds nothing')
})
