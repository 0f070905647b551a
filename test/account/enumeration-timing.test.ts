import { performance } from 'node:perf_hooks'
import t from 'tap'
import { build } from '../helpers/build.js'
import { post, registerUser, uniqueEmail } from '../helpers/http.js'
import { startSmtpServer } from '../helpers/smtp.js'

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const ROUNDS = 15

/**
 * Times `route` for addresses with an account (each fresh, so no per-address budget cuts its work short)
 * and without, interleaved so that any drift of the machine hits both alike.
 */
async function medians(app: Parameters<typeof post>[0], route: string) {
  const known: number[] = []
  const unknown: number[] = []
  const accounts = []
  for (let i = 0; i < ROUNDS; i++) accounts.push(await registerUser(app, uniqueEmail('known')))
  for (const account of accounts) {
    for (const [email, into] of [[account.email, known], [uniqueEmail('unknown'), unknown]] as const) {
      const started = performance.now()
      const response = await post(app, route, { email })
      into.push(performance.now() - started)
      if (response.statusCode !== 202) throw new Error(`${route}: ${response.statusCode} ${response.body}`)
    }
  }
  return { known: median(known), unknown: median(unknown) }
}

const ms = (value: number) => `${value.toFixed(1)} ms`

for (const route of ['/auth/password/forgot', '/auth/verify-email/resend']) {
  t.test(`${route}: addresses with and without an account answer in the same time (medians within 1.5×)`, async (t) => {
    const smtp = await startSmtpServer(t)
    const { app, config } = await build(t, { SMTP_URL: smtp.url, MAILS_PER_ADDRESS_PER_HOUR: '100' })
    const floored = await medians(app, route)
    const ratio = Math.max(floored.known, floored.unknown) / Math.min(floored.known, floored.unknown)
    t.comment(`${route}, floor ${config.account.mailRequestMinResponseMs} ms: median known ${ms(floored.known)}, unknown ${ms(floored.unknown)}, ratio ${ratio.toFixed(2)}`)
    t.ok(ratio <= 1.5, `ratio ${ratio.toFixed(2)} ≤ 1.5`)
    t.ok(floored.unknown >= config.account.mailRequestMinResponseMs, 'an unknown address waits for the floor too')
  })
}

t.test('what the floor hides: without it, the work for a real account shows in the timing', async (t) => {
  const smtp = await startSmtpServer(t)
  const { app } = await build(t, { SMTP_URL: smtp.url, MAILS_PER_ADDRESS_PER_HOUR: '100', MAIL_REQUEST_MIN_RESPONSE_MS: '0' })
  const bare = await medians(app, '/auth/password/forgot')
  const ratio = bare.known / bare.unknown
  t.comment(`without the floor: median known ${ms(bare.known)}, unknown ${ms(bare.unknown)}, ratio ${ratio.toFixed(2)}`)
  // The check above can fail: without the floor it would (a transaction with three writes against one read).
  t.ok(ratio > 1.5, `without the floor the ratio (${ratio.toFixed(2)}) is beyond 1.5`)
})
