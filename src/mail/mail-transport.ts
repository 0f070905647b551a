import type { FastifyBaseLogger } from 'fastify'
import nodemailer from 'nodemailer'

export interface MailMessage {
  /** Stable for every attempt of one outbox row, so a receiver can drop a copy sent twice after a crash. */
  messageId: string
  to: string
  subject: string
  text: string
}

/** Why a send failed: a temporary failure is retried, a permanent one (an SMTP 5xx) is not. */
export class MailSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message)
    this.name = 'MailSendError'
  }
}

/** The part of a pino logger mail needs; the mail:deliver command gives it one over the console. */
export type MailLog = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>

export interface MailTransport {
  send(message: MailMessage): Promise<void>
  close(): void
}

// Bounded so that a dead or stalled SMTP server costs a delivery round seconds, never the lease (2 min).
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }

/** Classifies a nodemailer error by its SMTP reply code; no code means the connection failed (temporary). */
function sendErrorOf(error: unknown): MailSendError {
  const { responseCode, code, message } = error as { responseCode?: number; code?: string; message?: string }
  const permanent = typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600
  const said = typeof responseCode === 'number' ? `SMTP ${responseCode}` : (code ?? 'error')
  return new MailSendError(`${said}: ${message ?? String(error)}`, permanent)
}

/** nodemailer's SMTP transport (pooled connections) for `smtp://` or `smtps://` URLs with credentials. */
export function createSmtpTransport(smtpUrl: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: 2, ...SMTP_TIMEOUTS })
  return {
    async send(message) {
      try {
        await transporter.sendMail({ from, to: message.to, subject: message.subject, text: message.text, messageId: message.messageId })
      } catch (error) {
        throw sendErrorOf(error)
      }
    },
    close() {
      transporter.close()
    },
  }
}

/**
 * Development without SMTP_URL: each mail is written to the log, link included, so a fresh clone can walk
 * every flow with curl. Never used in production (the configuration requires SMTP_URL there).
 */
export function createLogTransport(log: MailLog): MailTransport {
  return {
    async send(message) {
      log.info({ mail: { to: message.to, subject: message.subject } }, `mail (no SMTP_URL set, not sent):\n${message.text}`)
    },
    close() {},
  }
}
