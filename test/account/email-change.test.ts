import t from 'tap'
import { build } from '../helpers/build.js'
import { PASSWORD, login, post, problemOf, refresh, registerUser, uniqueEmail } from '../helpers/http.js'
import { decodeJwt } from '../helpers/jwt.js'
import { linkPathOf, linkTokenOf, startSmtpServer } from '../helpers/smtp.js'

const CONFIRM_SUBJECT = 'Confirm your new email address'
const NOTICE_SUBJECT = 'Your email address is about to change'

const changeEmail = (app: Parameters<typeof post>[0], accessToken: string, body: object) =>
  app.inject({ method: 'POST', url: '/me/email', payload: body, headers: { authorization: `Bearer ${accessToken}` } })

t.test('POST /me/email → the link to the new address moves the account; the old address gets a notice', async (t) => {
  const smtp = await startSmtpServer(t)
  const { app, config, clock } = await build(t, { SMTP_URL: smtp.url })
  const user = await registerUser(app, uniqueEmail('old'))
  const tokens = await login(app, user.email)
  const newEmail = uniqueEmail('new')

  const wrong = await changeEmail(app, tokens.accessToken, { newEmail, currentPassword: 'not the password' })
  t.equal(wrong.statusCode, 401)
  t.equal(problemOf(wrong).code, 'invalid_credentials')
  const noAuth = await post(app, '/me/email', { newEmail, currentPassword: PASSWORD })
  t.equal(noAuth.statusCode, 401)

  const accepted = await changeEmail(app, tokens.accessToken, { newEmail: ` ${newEmail.toUpperCase()}`, currentPassword: PASSWORD })
  t.equal(accepted.statusCode, 202)
  const confirm = await smtp.mailTo(newEmail, CONFIRM_SUBJECT)
  t.equal(linkPathOf(confirm), '/confirm-email')
  const notice = await smtp.mailTo(user.email, NOTICE_SUBJECT)
  t.match(notice.text, newEmail, 'the notice names the new address')
  t.notMatch(notice.text, /#token=/, 'the notice to the old address carries no link')

  t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 200, 'nothing changes before the link')

  clock.advance((config.account.linkTtlSeconds.email_change - 1) * 1000)
  const confirmed = await post(app, '/auth/email/confirm', { token: linkTokenOf(confirm) })
  t.equal(confirmed.statusCode, 200)
  t.match(confirmed.json(), { id: user.id, email: newEmail, emailVerified: true })
  t.equal(problemOf(await post(app, '/auth/email/confirm', { token: linkTokenOf(confirm) })).code, 'link_invalid', 'once')

  t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 401, 'the old address is gone')
  const fresh = await login(app, newEmail)
  t.match(decodeJwt(fresh.accessToken).payload, { email: newEmail, email_verified: true })
  const rotated = await refresh(app, tokens.refreshToken!)
  t.equal(rotated.statusCode, 200, 'an email change does not end logins')
  t.equal(decodeJwt(rotated.json().accessToken).payload.email, newEmail, 'the next refresh carries the new address')
  t.equal(problemOf(await post(app, '/auth/verify-email', { token: linkTokenOf(smtp.to(user.email)[0]!) })).code, 'link_invalid',
    'the verification link of the old address was used up')
})

t.test('email change: 409 for a taken address, at request and at confirmation; expiry; same address refused', async (t) => {
  const smtp = await startSmtpServer(t)
  const { app, config, clock } = await build(t, { SMTP_URL: smtp.url })
  const user = await registerUser(app, uniqueEmail('mover'))
  const other = await registerUser(app, uniqueEmail('other'))
  const { accessToken } = await login(app, user.email)

  const taken = await changeEmail(app, accessToken, { newEmail: other.email, currentPassword: PASSWORD })
  t.equal(taken.statusCode, 409)
  t.equal(problemOf(taken).code, 'email_taken')
  const same = await changeEmail(app, accessToken, { newEmail: user.email, currentPassword: PASSWORD })
  t.equal(problemOf(same).code, 'validation_failed')

  // The address is free when asked for, taken by someone else before the link is opened.
  const contested = uniqueEmail('contested')
  t.equal((await changeEmail(app, accessToken, { newEmail: contested, currentPassword: PASSWORD })).statusCode, 202)
  const link = linkTokenOf(await smtp.mailTo(contested, CONFIRM_SUBJECT))
  await registerUser(app, contested)
  const late = await post(app, '/auth/email/confirm', { token: link })
  t.equal(late.statusCode, 409)
  t.equal(problemOf(late).code, 'email_taken')
  t.equal((await post(app, '/auth/login', { email: user.email, password: PASSWORD })).statusCode, 200, 'nothing changed')

  const later = uniqueEmail('later')
  t.equal((await changeEmail(app, accessToken, { newEmail: later, currentPassword: PASSWORD })).statusCode, 202)
  const expiring = linkTokenOf(await smtp.mailTo(later, CONFIRM_SUBJECT))
  clock.advance(config.account.linkTtlSeconds.email_change * 1000)
  t.equal(problemOf(await post(app, '/auth/email/confirm', { token: expiring })).code, 'link_expired')
})

t.test('two accounts confirming the same new address at once: one moves, the other gets 409', async (t) => {
  const smtp = await startSmtpServer(t)
  const { app } = await build(t, { SMTP_URL: smtp.url })
  const target = uniqueEmail('wanted')
  const links: string[] = []
  for (const label of ['a', 'b']) {
    const user = await registerUser(app, uniqueEmail(label))
    const { accessToken } = await login(app, user.email)
    t.equal((await changeEmail(app, accessToken, { newEmail: target, currentPassword: PASSWORD })).statusCode, 202)
    const mails = await smtp.waitFor((mail) => mail.to === target && mail.subject === CONFIRM_SUBJECT, links.length + 1)
    links.push(linkTokenOf(mails.at(-1)!))
  }
  const answers = await Promise.all(links.map((token) => post(app, '/auth/email/confirm', { token })))
  t.same(answers.map((answer) => answer.statusCode).sort(), [200, 409])
})
