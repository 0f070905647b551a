import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { createMailDelivery, domainOf, type MailDelivery } from '../mail/mail-delivery.js'
import { createMailOutboxRepository, type MailOutboxRepository } from '../mail/mail-outbox-repository.js'
import { createLogTransport, createSmtpTransport } from '../mail/mail-transport.js'

declare module 'fastify' {
  interface FastifyInstance {
    mail: { outbox: MailOutboxRepository; delivery: MailDelivery }
  }
}

/** How long closing waits for a delivery round in progress; SMTP being down never holds shutdown longer. */
const STOP_GRACE_MS = 2000

/**
 * The mail outbox and its delivery worker. Every server process runs a worker (unless MAIL_POLL_INTERVAL_MS
 * is 0); FOR UPDATE SKIP LOCKED lets any number of them share one outbox.
 */
async function mail(app: FastifyInstance, options: { mail: Config['mail']; clock: Clock }) {
  const { mail: config, clock } = options
  const outbox = createMailOutboxRepository(app.db.prisma)
  const transport = config.smtpUrl ? createSmtpTransport(config.smtpUrl, config.from) : createLogTransport(app.log)
  const delivery = createMailDelivery({
    outbox,
    transaction: (work, options) => app.db.transaction(work, options),
    transport,
    clock,
    log: app.log,
    maxAttempts: config.maxAttempts,
    messageIdDomain: domainOf(config.from),
  })
  app.decorate('mail', { outbox, delivery })
  app.addHook('onReady', async () => delivery.start(config.pollIntervalMs))
  app.addHook('onClose', async () => delivery.stop(STOP_GRACE_MS))
}

export default fp(mail, { name: 'mail', dependencies: ['database'] })
