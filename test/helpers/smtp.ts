import { EventEmitter, once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string
  subject: string
  text: string
  messageId: string
  raw: ParsedMail
}

interface Teardown {
  teardown(fn: () => unknown): void
}

/**
 * A real SMTP server in the test process (smtp-server), parsing what arrives with mailparser. Tests point
 * SMTP_URL at it: nothing is mocked at the transport. It can be stopped and started again on the same port
 * (an outage), can refuse recipients for good (550) or for now (451).
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = []
  /** Recipients refused with 550 at RCPT TO. */
  readonly refuse = new Set<string>()
  /** Recipients deferred with 451 at RCPT TO: try again later. */
  readonly defer = new Set<string>()
  /** RCPT TO attempts per recipient, accepted or not. */
  readonly attempts = new Map<string, number>()
  #events = new EventEmitter()
  #server: SMTPServer | undefined
  #port = 0

  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // An outage drops open connections at once instead of letting them finish for 30 s.
      closeTimeout: 50,
      onRcptTo: ({ address }, _session, callback) => {
        this.attempts.set(address, (this.attempts.get(address) ?? 0) + 1)
        if (this.refuse.has(address)) return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }))
        if (this.defer.has(address)) return callback(Object.assign(new Error('try again later'), { responseCode: 451 }))
        callback()
      },
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            const to = Array.isArray(mail.to) ? mail.to[0] : mail.to
            this.received.push({
              to: to?.value[0]?.address ?? '',
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              messageId: mail.messageId ?? '',
              raw: mail,
            })
            this.#events.emit('mail')
            callback()
          })
          .catch(callback)
      },
    })
    server.listen(this.#port, '127.0.0.1')
    await once(server.server, 'listening')
    this.#port = (server.server.address() as AddressInfo).port
    this.#server = server
  }

  /** Stops accepting connections and drops the open ones: the mail server is down. */
  async stop(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Mails to `address`, in the order they arrived. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to === address)
  }

  /** Resolves once `count` mails satisfy `match`; rejects after `timeoutMs`, naming what did arrive. */
  async waitFor(match: (mail: ReceivedMail) => boolean, count = 1, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const found = () => this.received.filter(match)
    const deadline = AbortSignal.timeout(timeoutMs)
    while (found().length < count) {
      try {
        await once(this.#events, 'mail', { signal: deadline })
      } catch {
        const seen = this.received.map((mail) => `${mail.to}: ${mail.subject}`).join('; ') || 'none'
        throw new Error(`expected ${count} matching mail(s) within ${timeoutMs} ms, got ${found().length} (all mail: ${seen})`)
      }
    }
    return found()
  }

  /** The mail to `address` with `subject`, once it has arrived. */
  async mailTo(address: string, subject: string): Promise<ReceivedMail> {
    const [mail] = await this.waitFor((candidate) => candidate.to === address && candidate.subject === subject)
    return mail!
  }
}

export async function startSmtpServer(t: Teardown): Promise<TestSmtpServer> {
  const server = new TestSmtpServer()
  await server.start()
  t.teardown(() => server.stop())
  return server
}

/** The token of the one link in a mail's text; fails when the text has none or several. */
export function linkTokenOf(mail: Pick<ReceivedMail, 'text'>): string {
  const links = [...mail.text.matchAll(/https?:\/\/\S+#token=([A-Za-z0-9_-]+)/g)]
  if (links.length !== 1) throw new Error(`expected exactly one link in the mail, found ${links.length}:\n${mail.text}`)
  return links[0]![1]!
}

/** The page a mail's link opens, e.g. "/reset-password". */
export function linkPathOf(mail: Pick<ReceivedMail, 'text'>): string {
  const [link] = /https?:\/\/\S+#token=\S+/.exec(mail.text) ?? []
  return link ? new URL(link).pathname : ''
}
