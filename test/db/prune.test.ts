import { randomUUID } from 'node:crypto'
import t from 'tap'
import { loadDatabaseConfig } from '../../src/config.js'
import { openDatabase } from '../../src/db/prisma.js'
import { createAccountLinkRepository } from '../../src/account/account-link-repository.js'
import { createAuthEventRepository } from '../../src/events/auth-event-repository.js'
import { createMailOutboxRepository } from '../../src/mail/mail-outbox-repository.js'
import { createSessionRepository } from '../../src/sessions/session-repository.js'
import { createPruner, MAIL_RETENTION_DAYS, pruneTablesOf } from '../../src/maintenance/pruner.js'
import { MAX_CLOCK_TOLERANCE_SECONDS } from '../../src/tokens/claims.js'
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

  // Links: expired ones go, used or not; a live one stays.
  const link = (hash: string, expiresAt: Date, usedAt: Date | null) => [hash, 'password_reset', userId, expiresAt, usedAt]
  await session.batch('INSERT INTO account_links (token_hash, purpose, user_id, expires_at, used_at) VALUES (?, ?, ?, ?, ?)', [
    link('a'.repeat(64), new Date(clock.now() - 1), null),
    link('b'.repeat(64), new Date(clock.now() - 1), new Date(clock.now() - 60_000)),
    link('c'.repeat(64), new Date(clock.now() + 60_000), new Date(clock.now() - 60_000)),
  ])
  // Mail: finished longer ago than the retention goes; recent, and pending, mail stays.
  const retentionMs = MAIL_RETENTION_DAYS * 86_400_000
  const mail = (status: string, finishedAt: Date | null) => [userId, 'verify_email', 'prune@example.com', 'Subject', status, finishedAt]
  await session.batch('INSERT INTO mail_outbox (user_id, kind, recipient, subject, status, finished_at) VALUES (?, ?, ?, ?, ?, ?)', [
    mail('sent', new Date(clock.now() - retentionMs - 1)),
    mail('failed', new Date(clock.now() - retentionMs - 1)),
    mail('sent', new Date(clock.now() - retentionMs + 60_000)),
    mail('pending', null),
  ])

  // Sessions: expired ones go, and so do live-dated ones ended by a family row or by an older epoch.
  await session.query('UPDATE users SET session_epoch = 1 WHERE id = ?', [userId])
  const sessionRow = (name: string, epoch: number, expiresAt: Date) => [name.padEnd(36, '-'), userId, epoch, 0, '192.0.2.1', 'curl 8', new Date(clock.now() - 60_000), expiresAt]
  const later = new Date(clock.now() + 86_400_000)
  await session.batch(
    'INSERT INTO sessions (id, user_id, session_epoch, remember_me, ip, device, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [
      sessionRow('expired', 1, new Date(clock.now() - toleranceMs - 1)),
      sessionRow('old-epoch', 0, later),
      sessionRow('logged-out', 1, later),
      sessionRow('live', 1, later),
    ],
  )
  await session.query("INSERT INTO revoked_tokens (id, scope, user_id, reason, revoked_at, expires_at) VALUES (?, 'family', ?, 'logout', ?, ?)", [
    'logged-out'.padEnd(36, '-'),
    userId,
    new Date(clock.now()),
    later,
  ])
  // Events: older than the retention go.
  const retentionDays = 90
  await session.batch("INSERT INTO auth_events (user_id, type, created_at) VALUES (?, 'login_succeeded', ?)", [
    [userId, new Date(clock.now() - retentionDays * 86_400_000 - 1)],
    [null, new Date(clock.now() - retentionDays * 86_400_000 - 1)],
    [userId, new Date(clock.now() - retentionDays * 86_400_000 + 60_000)],
  ])

  const db = openDatabase(loadDatabaseConfig({ DATABASE_URL: database.url, DB_OPERATION_TIMEOUT_MS: "5000" }))
  t.teardown(() => db.close())
  const tables = pruneTablesOf(
    {
      revocations: createRevokedTokenRepository(db.prisma),
      links: createAccountLinkRepository(db.prisma),
      outbox: createMailOutboxRepository(db.prisma),
      sessions: createSessionRepository(db.prisma),
      events: createAuthEventRepository(db.prisma),
    },
    { eventRetentionDays: retentionDays },
  )
  const pruner = createPruner({ tables, clock })
  const progress: string[] = []
  const deleted = await pruner.prune({ batchSize: 1000, pauseMs: 0, onBatch: (table, total) => progress.push(`${table} ${total}`) })
  t.same(deleted, { denylist: 2500, links: 2, mail: 2, sessions: 1, 'ended sessions': 2, events: 2 })
  t.same(
    progress,
    ['denylist 1000', 'denylist 2000', 'denylist 2500', 'links 2', 'mail 2', 'sessions 1', 'ended sessions 2', 'events 2'],
    'one statement per batch of at most 1000',
  )
  const [left] = await session.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM revoked_tokens')
  t.equal(Number(left?.count), 11, 'rows within the tolerance and rows that have not expired stay')
  const sessions = await session.query<{ id: string }[]>('SELECT id FROM sessions')
  t.same(sessions.map((row) => row.id.replace(/-+$/, '')), ['live'], 'only the live session stays')
  const events = await session.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM auth_events')
  t.equal(Number(events[0]?.count), 1, 'the event within the retention stays')
  const [links] = await session.query<{ hash: string }[]>('SELECT token_hash AS hash FROM account_links')
  t.equal(links?.hash, 'c'.repeat(64), 'the link that has not expired stays, used or not')
  const mails = await session.query<{ status: string }[]>('SELECT status FROM mail_outbox ORDER BY id')
  t.same(mails.map((row) => row.status), ['sent', 'pending'], 'recent and pending mail stays')
  t.same(
    await pruner.prune({ pauseMs: 0 }),
    { denylist: 0, links: 0, mail: 0, sessions: 0, 'ended sessions': 0, events: 0 },
    'a second run finds nothing',
  )
})
