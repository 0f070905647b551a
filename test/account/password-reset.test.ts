import t, { type Test } from 'tap'
import { build } from '../helpers/build.js'
import { PASSWORD, login, post, problemOf, refresh, uniqueEmail } from '../helpers/http.js'
import { linkPathOf, linkTokenOf, startSmtpServer } from '../helpers/smtp.js'

const RESET_SUBJECT = 'Reset your password'
const CHANGED_SUBJECT = 'Your password was changed'
const NEW_PASSWORD = 'a brand new passphrase for ada'

async function setup(t: Test, env: NodeJS.ProcessEnv = {}) {
  const smtp = await startSmtpServer(t)
  const built = await build(t, { SMTP_URL: smtp.url, MAIL_REQUEST_MIN_RESPONSE_MS: '0', ...env })
  const email = uniqueEmail('reset')
  t.equal((await post(built.app, '/auth/register', { email, password: PASSWORD })).statusCode, 201)
  const forgot = async () => {
    const before = smtp.to(email).filter((mail) => mail.subject === RESET_SUBJECT).length
    t.equal((await post(built.app, '/auth/password/forgot', { email })).statusCode, 202)
    const mails = await smtp.waitFor((mail) => mail.to === email && mail.subject === RESET_SUBJECT, before + 1)
    return linkTokenOf(mails.at(-1)!)
  }
  return { ...built, smtp, email, forgot }
}

t.test('forgot → reset: new password works, old one and every old login do not, a notice arrives, the address is verified', async (t) => {
  const { app, smtp, email, forgot } = await setup(t)
  const phone = await login(app, email)
  const laptop = await login(app, email, PASSWORD, { rememberMe: true })
  const token = await forgot()
  t.equal(linkPathOf(smtp.to(email).at(-1)!), '/reset-password')

  const reset = await post(app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD })
  t.equal(reset.statusCode, 204)

  for (const [label, tokens] of [['phone', phone], ['laptop (remember me)', laptop]] as const) {
    const answer = await refresh(app, tokens.refreshToken!)
    t.equal(answer.statusCode, 401, `${label}: refresh refused`)
    t.equal(problemOf(answer).code, 'token_revoked', label)
  }
  t.equal(problemOf(await post(app, '/auth/login', { email, password: PASSWORD })).code, 'invalid_credentials', 'old password refused')
  const fresh = await login(app, email, NEW_PASSWORD)
  t.ok(fresh.accessToken, 'new password logs in')
  const notice = await smtp.mailTo(email, CHANGED_SUBJECT)
  t.notMatch(notice.text, /#token=/, 'the notice carries no link')
  t.equal((await post(app, '/auth/verify-email', { token: linkTokenOf(smtp.to(email)[0]!) })).statusCode, 400, 'the verification link was used up by the reset')
  const meBody = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${fresh.accessToken}` } })
  t.equal(meBody.json().emailVerified, true, 'opening the reset mail proved the address')

  const replay = await post(app, '/auth/password/reset', { token, newPassword: 'yet another passphrase here' })
  t.equal(problemOf(replay).code, 'link_invalid', 'the link works once')
})

t.test('two concurrent resets with one link: one 204, one 400, and the password is the winner\'s', async (t) => {
  const { app, email, forgot } = await setup(t, { MAILS_PER_ADDRESS_PER_HOUR: '100' })
  for (let round = 0; round < 5; round++) {
    const token = await forgot()
    const passwords = [`first racer passphrase ${round}`, `second racer passphrase ${round}`]
    const answers = await Promise.all(passwords.map((newPassword) => post(app, '/auth/password/reset', { token, newPassword })))
    const statuses = answers.map((answer) => answer.statusCode).sort()
    t.same(statuses, [204, 400], `round ${round}: exactly one reset wins`)
    const loser = answers.find((answer) => answer.statusCode === 400)!
    t.equal(problemOf(loser).code, 'link_invalid')
    const winner = passwords[answers.findIndex((answer) => answer.statusCode === 204)]!
    t.equal((await post(app, '/auth/login', { email, password: winner })).statusCode, 200, 'the winner\'s password is in force')
    const other = passwords.find((password) => password !== winner)!
    t.equal((await post(app, '/auth/login', { email, password: other })).statusCode, 401, 'the loser\'s is not')
  }
})

t.test('a login that refreshes while the reset commits does not survive it', async (t) => {
  const { app, email, forgot } = await setup(t)
  const tokens = await login(app, email)
  const token = await forgot()
  const [, racing] = await Promise.all([
    post(app, '/auth/password/reset', { token, newPassword: NEW_PASSWORD }),
    refresh(app, tokens.refreshToken!),
  ])
  // Whichever came first, the login is over afterwards: the successor (if any) refreshes no more.
  const survivor = racing.statusCode === 200 ? racing.json().refreshToken : tokens.refreshToken
  t.equal((await refresh(app, survivor)).statusCode, 401)
})

t.test('reset links expire after PASSWORD_RESET_TTL_SECONDS, a newer one supersedes, a weak password keeps the link', async (t) => {
  const { app, config, clock, forgot } = await setup(t)
  const expiring = await forgot()
  clock.advance(config.account.linkTtlSeconds.password_reset * 1000)
  const expired = await post(app, '/auth/password/reset', { token: expiring, newPassword: NEW_PASSWORD })
  t.equal(problemOf(expired).code, 'link_expired')

  const older = await forgot()
  const newer = await forgot()
  t.equal(problemOf(await post(app, '/auth/password/reset', { token: older, newPassword: NEW_PASSWORD })).code, 'link_invalid', 'superseded')

  const weak = await post(app, '/auth/password/reset', { token: newer, newPassword: 'password123' })
  t.equal(weak.statusCode, 400)
  t.equal(problemOf(weak).code, 'validation_failed')
  t.equal((await post(app, '/auth/password/reset', { token: newer, newPassword: NEW_PASSWORD })).statusCode, 204, 'the link still works')

  const verifyLink = await post(app, '/auth/password/reset', { token: 'x'.repeat(43), newPassword: NEW_PASSWORD })
  t.equal(problemOf(verifyLink).code, 'link_invalid', 'unknown token')
})

t.test('forgot answers the same for unknown addresses and sends nothing; the per-address budget is silent', async (t) => {
  const { app, smtp, email } = await setup(t, { MAILS_PER_ADDRESS_PER_HOUR: '2' })
  const answers = await Promise.all([
    post(app, '/auth/password/forgot', { email: uniqueEmail('ghost') }),
    post(app, '/auth/password/forgot', { email }),
    post(app, '/auth/password/forgot', { email }),
    post(app, '/auth/password/forgot', { email: ` ${email.toUpperCase()} ` }),
  ])
  t.same(answers.map((answer) => answer.statusCode), [202, 202, 202, 202])
  t.equal(new Set(answers.map((answer) => answer.body)).size, 1, 'one body for every address')
  await app.mail.delivery.drain()
  t.equal(smtp.to(email).filter((mail) => mail.subject === RESET_SUBJECT).length, 2, 'two of three within the budget')
  t.equal(smtp.received.filter((mail) => mail.to.startsWith('ghost.')).length, 0, 'nothing to an unknown address')
  const bad = await post(app, '/auth/password/forgot', { email: 'not an email' })
  t.equal(problemOf(bad).code, 'validation_failed')
})

t.test('concurrent forgot requests for one address leave exactly one working link', async (t) => {
  const { app, smtp, email } = await setup(t, { MAILS_PER_ADDRESS_PER_HOUR: '100' })
  const answers = await Promise.all(Array.from({ length: 6 }, () => post(app, '/auth/password/forgot', { email })))
  t.same(answers.map((answer) => answer.statusCode), Array(6).fill(202))
  const mails = await smtp.waitFor((mail) => mail.to === email && mail.subject === RESET_SUBJECT, 6)
  const results = []
  for (const [i, mail] of mails.entries()) {
    results.push((await post(app, '/auth/password/reset', { token: linkTokenOf(mail), newPassword: `${NEW_PASSWORD} ${i}` })).statusCode)
  }
  t.equal(results.filter((status) => status === 204).length, 1, `one link of six works (${results.join(', ')})`)
})
