import type { Clock } from '../clock.js'
import type { Database } from '../db/prisma.js'
import { isWriteConflict } from '../db/prisma-errors.js'
import type { ClaimedMail, MailOutboxRepository } from './mail-outbox-repository.js'
import { MailSendError, type MailLog, type MailTransport } from './mail-transport.js'

export interface MailDeliveryDeps {
  outbox: Pick<MailOutboxRepository, 'claimDue' | 'markSent' | 'scheduleRetry' | 'markFailed'>
  transaction: Database['transaction']
  transport: MailTransport
  clock: Clock
  log: MailLog
  maxAttempts: number
  /** The domain of Message-IDs: MAIL_FROM's. */
  messageIdDomain: string
  random?: () => number
  /** Called after each batch with the counts so far (mail:deliver prints its progress). */
  onBatch?: (total: DeliveryCounts) => void
}

export interface DeliveryCounts {
  sent: number
  retried: number
  failed: number
}

const BATCH_SIZE = 10
/** How long a claim lasts: well beyond the transport's own timeouts, so a send never outlives its lease. */
export const LEASE_MS = 120_000
const FIRST_RETRY_MS = 30_000
const LAST_RETRY_MS = 3_600_000

/**
 * Exponential backoff with jitter: attempt n waits between half and all of 30 s × 2^(n−1), at most an
 * hour, so instances that failed together do not retry together. Eight attempts span about an hour.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** The domain part of an address such as `Name <no-reply@example.com>`. */
export const domainOf = (address: string) => /@([^>\s]+)/.exec(address)?.[1] ?? 'localhost'

const counts = (): DeliveryCounts => ({ sent: 0, retried: 0, failed: 0 })

/**
 * Sends what the outbox holds. A round claims a batch in one short transaction, sends outside it (no
 * database connection waits on SMTP), and records each outcome. Rounds run one at a time per process;
 * a nudge during a round asks for another, so a mail queued meanwhile is not left to the next poll.
 */
export function createMailDelivery(deps: MailDeliveryDeps) {
  const { outbox, transport, clock, log, maxAttempts } = deps
  const random = deps.random ?? Math.random
  let running: Promise<DeliveryCounts> | null = null
  let wanted = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined

  async function claim(): Promise<ClaimedMail[]> {
    const now = clock.now()
    try {
      return await deps.transaction((tx) => outbox.claimDue(new Date(now), new Date(now + LEASE_MS), BATCH_SIZE, tx), {
        isolationLevel: 'ReadCommitted',
      })
    } catch (error) {
      // Galera: another node claimed the same rows first and won certification; the next round goes on.
      if (isWriteConflict(error)) return []
      throw error
    }
  }

  async function deliver(mail: ClaimedMail, total: DeliveryCounts): Promise<void> {
    const messageId = `<outbox-${mail.id}.${mail.createdAt.getTime()}@${deps.messageIdDomain}>`
    try {
      await transport.send({ messageId, to: mail.recipient, subject: mail.subject, text: mail.text })
    } catch (error) {
      const failure = error instanceof MailSendError ? error : new MailSendError(String(error), false)
      const at = clock.now()
      if (failure.permanent || mail.attempts >= maxAttempts) {
        await outbox.markFailed(mail.id, mail.attempts, new Date(at), failure.message)
        log.error({ mailId: String(mail.id), kind: mail.kind, attempts: mail.attempts, reason: failure.message }, 'mail failed for good')
        total.failed++
      } else {
        await outbox.scheduleRetry(mail.id, mail.attempts, new Date(at + retryDelayMs(mail.attempts, random)), failure.message)
        log.warn({ mailId: String(mail.id), kind: mail.kind, attempts: mail.attempts, reason: failure.message }, 'mail not sent; will retry')
        total.retried++
      }
      return
    }
    await outbox.markSent(mail.id, mail.attempts, new Date(clock.now()))
    total.sent++
  }

  async function drainRounds(): Promise<DeliveryCounts> {
    const total = counts()
    do {
      wanted = false
      for (;;) {
        const batch = await claim()
        // One row's outcome failing to record (the database went away) must not lose the others'.
        const outcomes = await Promise.allSettled(batch.map((mail) => deliver(mail, total)))
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') log.error({ err: outcome.reason }, 'could not record a mail delivery')
        }
        if (batch.length > 0) deps.onBatch?.(total)
        if (batch.length < BATCH_SIZE || stopped) break
      }
    } while (wanted && !stopped)
    return total
  }

  const delivery = {
    /** Delivers every due mail, round after round, until none is left; resolves with what happened. */
    drain(): Promise<DeliveryCounts> {
      if (running) {
        wanted = true
        return running
      }
      running = drainRounds().finally(() => {
        running = null
      })
      return running
    },

    /** Starts a drain without waiting for it: after a commit that queued mail, and on every poll. */
    nudge(): void {
      if (stopped) return
      delivery.drain().catch((error: unknown) => log.warn({ err: error }, 'mail delivery round failed; the next poll retries'))
    },

    /** Polls every `intervalMs` for mail other processes queued, or whose retry is due. */
    start(intervalMs: number): void {
      if (intervalMs <= 0 || timer) return
      timer = setInterval(() => delivery.nudge(), intervalMs).unref()
      delivery.nudge()
    },

    /**
     * Stops polling and gives a round in progress `graceMs` to finish. A send still running then is cut
     * off; its row stays claimed and is retried when its lease ends.
     */
    async stop(graceMs: number): Promise<void> {
      stopped = true
      clearInterval(timer)
      const current = running
      if (current) {
        let wait: NodeJS.Timeout | undefined
        const grace = new Promise<void>((resolve) => (wait = setTimeout(resolve, graceMs)))
        await Promise.race([current.then(() => undefined, () => undefined), grace]).finally(() => clearTimeout(wait))
      }
      transport.close()
    },
  }
  return delivery
}

export type MailDelivery = ReturnType<typeof createMailDelivery>
