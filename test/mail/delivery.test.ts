import { execFile } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { PROJECT_ROOT } from '../../src/deploy/migration-files.js'
import { retryDelayMs } from '../../src/mail/mail-delivery.js'
import { build } from '../helpers/build.js'
import { ManualClock } from '../helpers/clock.js'
import { createTestDatabase } from '../helpers/database.js'
import { post, registerUser, uniqueEmail } from '../helpers/http.js'
import { startSmtpServer } from '../helpers/smtp.js'

const HOUR_MS = 3_600_000
// Only what a test drains runs: no poll of its own between the steps of a test.
const NO_POLL = { MAIL_POLL_INTERVAL_MS: '0' }

interface OutboxRow {
  recipient: string
  subject: string
  status: string
  attempts: number
  body: string | null
  error: string | null
}

async function outboxOf(t: Test, url: string): Promise<OutboxRow[]> {
  const session = await openSession(url)
  t.teardown(() => session.end())
  return session.query<OutboxRow[]>(
    'SELECT recipient, subject, status, attempts, text_body AS body, last_error AS error FROM mail_outbox ORDER BY id',
  )
}

t.test('retries back off exponentially with jitter, capped at an hour', async (t) => {
  t.same([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, () => 1)), [30_000, 60_000, 120_000, 240_000], 'the ceiling doubles')
  t.equal(retryDelayMs(1, () => 0), 15_000, 'at least half the ceiling')
  t.equal(retryDelayMs(20, () => 1), HOUR_MS, 'never beyond an hour')
  t.equal(retryDelayMs(20, () => 0), HOUR_MS / 2)
})

t.test('SMTP down: every request still answers; once it is back, two instances deliver every mail exactly once', async (t) => {
  const smtp = await startSmtpServer(t)
  const clock = new ManualClock()
  const one = await build(t, { SMTP_URL: smtp.url, ...NO_POLL }, { clock })
  const two = await build(t, { SMTP_URL: smtp.url, ...NO_POLL }, { clock, database: one.database })
  const apps = [one.app, two.app]
  await smtp.stop()

  const emails = Array.from({ length: 12 }, () => uniqueEmail('outage'))
  const registered = await Promise.all(emails.map((email, i) => registerUser(apps[i % 2]!, email).then(() => 201, () => 'failed')))
  t.same(registered, Array(12).fill(201), 'every registration answers 201 while SMTP is down')
  const forgot = await Promise.all(emails.map((email, i) => post(apps[(i + 1) % 2]!, '/auth/password/forgot', { email })))
  t.same(forgot.map((answer) => answer.statusCode), Array(12).fill(202), 'every forgot answers 202')

  const failedRounds = await Promise.all(apps.map((app) => app.mail.delivery.drain()))
  t.equal(failedRounds[0]!.sent + failedRounds[1]!.sent, 0, 'nothing could be sent')
  const waiting = await outboxOf(t, one.database.url)
  t.equal(waiting.length, 24, 'a verification and a reset mail per account, queued')
  t.ok(waiting.every((row) => row.status === 'pending' && row.attempts >= 1 && row.error !== null && row.body !== null), 'each tried, kept with its body')

  await smtp.start()
  clock.advance(HOUR_MS) // every retry is due
  // Both instances drain at once; asking one again while it drains joins its round (same counts).
  const [ofOne, ofTwo] = await Promise.all([...apps, ...apps].map((app) => app.mail.delivery.drain()))
  t.equal(ofOne!.sent + ofTwo!.sent, 24, `24 sends in all (instance one: ${ofOne!.sent}, two: ${ofTwo!.sent})`)
  await smtp.waitFor(() => true, 24)
  t.equal(new Set(smtp.received.map((mail) => mail.messageId)).size, 24, 'duplicates: 0, by Message-ID')
  t.equal(new Set(smtp.received.map((mail) => `${mail.to} ${mail.subject}`)).size, 24, 'each account got each of its two mails once')
  const rows = await outboxOf(t, one.database.url)
  t.ok(rows.every((row) => row.status === 'sent' && row.body === null), 'every row sent and scrubbed')
  await Promise.all(apps.map((app) => app.mail.delivery.drain()))
  t.equal(smtp.received.length, 24, 'another round sends nothing again')
})

t.test('a recipient refused for good (550) is failed and scrubbed at once; one deferred (451) after MAIL_MAX_ATTEMPTS', async (t) => {
  const smtp = await startSmtpServer(t)
  const clock = new ManualClock()
  const { app, database } = await build(t, { SMTP_URL: smtp.url, MAIL_MAX_ATTEMPTS: '3', ...NO_POLL }, { clock })
  const refused = uniqueEmail('refused')
  const deferred = uniqueEmail('deferred')
  smtp.refuse.add(refused)
  smtp.defer.add(deferred)
  await registerUser(app, refused)
  await registerUser(app, deferred)

  const first = await app.mail.delivery.drain()
  t.same({ failed: first.failed, retried: first.retried }, { failed: 1, retried: 1 })
  for (let attempt = 2; attempt <= 3; attempt++) {
    t.same(await app.mail.delivery.drain(), { sent: 0, retried: 0, failed: 0 }, `attempt ${attempt} waits for its backoff`)
    clock.advance(HOUR_MS)
    await app.mail.delivery.drain()
  }
  const rows = await outboxOf(t, database.url)
  t.match(rows, [
    { recipient: refused, status: 'failed', attempts: 1, body: null, error: /^SMTP 550/ },
    { recipient: deferred, status: 'failed', attempts: 3, body: null, error: /^SMTP 451/ },
  ])
  t.same([smtp.attempts.get(refused), smtp.attempts.get(deferred)], [1, 3], 'no attempt beyond those')
  t.equal(smtp.received.length, 0)
})

t.test('closing with the SMTP server stalled takes the grace period, not the SMTP timeouts; the mail stays queued', async (t) => {
  // Accepts connections and never greets: a hung mail server.
  const sockets = new Set<net.Socket>()
  const stalled = net.createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1')
  await once(stalled, 'listening')
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    stalled.close()
  })
  const { port } = stalled.address() as net.AddressInfo
  const database = await createTestDatabase(t)
  const { app } = await build(t, { SMTP_URL: `smtp://127.0.0.1:${port}`, ...NO_POLL }, { database })
  await registerUser(app)
  while (sockets.size === 0) await once(stalled, 'connection')

  const started = Date.now()
  await app.close()
  const elapsed = Date.now() - started
  t.ok(elapsed < 5000, `closed in ${elapsed} ms (grace 2 s; the greeting timeout alone is 10 s)`)
  t.match(await outboxOf(t, database.url), [{ status: 'pending', attempts: 1, body: /#token=/ }], 'claimed, to be retried after its lease')
})

t.test('mail:deliver sends what is due, reports what is left, and exits', async (t) => {
  const smtp = await startSmtpServer(t)
  // Nobody listens on port 1: what the app tries itself waits for a retry.
  const { app, database } = await build(t, { SMTP_URL: 'smtp://127.0.0.1:1', ...NO_POLL })
  const emails = [uniqueEmail('cli'), uniqueEmail('cli')]
  const refused = uniqueEmail('cli-refused')
  smtp.refuse.add(refused)
  for (const email of [...emails, refused]) await registerUser(app, email)
  await app.mail.delivery.drain()
  const session = await openSession(database.url)
  t.teardown(() => session.end())
  const due = (recipients: string[]) =>
    session.query('UPDATE mail_outbox SET next_attempt_at = UTC_TIMESTAMP(3) WHERE recipient IN (?)', [recipients])
  const deliverMail = () =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'deploy', 'cli.ts'), 'deliver-mail'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_ENV: 'development', DATABASE_URL: database.url, SMTP_URL: smtp.url },
    })

  await due([refused])
  const first = await deliverMail()
  t.match(first.stdout, /Sent 0 mail\(s\); 0 will be retried; 1 failed for good\./, 'only the refused one was due')
  t.match(first.stdout, /2 mail\(s\) still queued; the next is due at \d{4}-\d\d-\d\dT/)

  await due(emails)
  const second = await deliverMail()
  t.match(second.stdout, /Sent 2 mail\(s\); 0 will be retried; 0 failed for good\.\nThe outbox holds no queued mail\./)
  t.same(smtp.received.map((mail) => mail.to).sort(), [...emails].sort())
})
