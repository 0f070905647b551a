import type { ApiClient } from './api-client.js'
import type { Check } from './invariants.js'
import type { SoakOptions } from './options.js'
import type { MailOutboxCounts } from './soak-database.js'
import type { SimUser } from './simulated-users.js'
import type { TestSmtpServer } from '../helpers/smtp.js'

export interface MailTraffic {
  /** Forgot-password answers by status. */
  answers: Record<string, number>
  smtpCut: { atMs: number; forMs: number }
}

/**
 * Forgot-password requests from the end of the database cut to the end of the run, with the SMTP server
 * stopped for a few seconds in between. It starts after the database is back on purpose: a send recorded
 * during a database cut stays leased (two minutes) and is sent again after the lease, the at-least-once
 * case the stable Message-ID exists for, and not what this run can wait out.
 */
export async function runMailTraffic(api: ApiClient, users: SimUser[], smtp: TestSmtpServer, options: SoakOptions, signal: AbortSignal): Promise<MailTraffic> {
  const startedAt = Date.now()
  const at = (seconds: number) => startedAt + seconds * 1000
  const begin = at(options.cutAfterSeconds + options.cutForSeconds + 1)
  const end = at(options.durationSeconds)
  const cutAt = begin + 1000
  const cutForMs = Math.max(1000, Math.min(6000, end - cutAt - 1000))
  const until = (time: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())))

  const cut = until(cutAt).then(async () => {
    await smtp.stop()
    await until(cutAt + cutForMs)
    await smtp.start()
  })
  const answers: Record<string, number> = {}
  await until(begin)
  for (let i = 0; Date.now() < end && !signal.aborted; i++) {
    const user = users[i % users.length]!
    const { status } = await api.forgotPassword(user.email)
    answers[status] = (answers[status] ?? 0) + 1
    await until(Date.now() + 50)
  }
  await cut
  return { answers, smtpCut: { atMs: cutAt - startedAt, forMs: cutForMs } }
}

/** Waits until the outbox holds nothing pending (retries after the SMTP cut come due within a minute). */
export async function settledOutbox(read: () => Promise<MailOutboxCounts>, timeoutMs = 75_000): Promise<MailOutboxCounts> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const counts = await read()
    if (counts.pending === 0 || Date.now() > deadline) return counts
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** Every queued mail delivered exactly once (or failed), none duplicated, and SMTP down never failed a request. */
export function checkMail(traffic: MailTraffic, outbox: MailOutboxCounts, smtp: TestSmtpServer): Check[] {
  const ids = smtp.received.map((mail) => mail.messageId)
  const duplicates = ids.length - new Set(ids).size
  const refused = Object.entries(traffic.answers).filter(([status]) => status !== '202')
  return [
    {
      name: 'forgot-password answers 202 while SMTP is down',
      ok: refused.length === 0 && (traffic.answers['202'] ?? 0) > 0,
      detail: `answers by status ${JSON.stringify(traffic.answers)}; SMTP stopped at ${traffic.smtpCut.atMs} ms for ${traffic.smtpCut.forMs} ms`,
      examples: refused,
    },
    {
      name: 'every queued mail delivered exactly once or failed, none duplicated',
      ok: outbox.pending === 0 && duplicates === 0 && new Set(ids).size === outbox.sent,
      detail: `outbox: ${outbox.sent} sent, ${outbox.failed} failed, ${outbox.pending} still pending; SMTP received ${ids.length} (duplicates: ${duplicates})`,
      examples: [],
    },
  ]
}
