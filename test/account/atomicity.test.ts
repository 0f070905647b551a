import t from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { build } from '../helpers/build.js'
import { PASSWORD, login, post, refresh, uniqueEmail } from '../helpers/http.js'
import { linkTokenOf, startSmtpServer } from '../helpers/smtp.js'

/**
 * Each flow's change and its mail commit together or not at all. A trigger in the test's own database
 * makes the last statement of the transaction (queueing the mail) fail; nothing of the flow may remain.
 */
t.test('when queueing the mail fails, the change it announces is rolled back with it', async (t) => {
  const smtp = await startSmtpServer(t)
  const { app, database } = await build(t, { SMTP_URL: smtp.url, MAIL_REQUEST_MIN_RESPONSE_MS: '0' })
  const session = await openSession(database.url)
  t.teardown(() => session.end())
  const failMail = async (on: boolean) => {
    await session.query('DROP TRIGGER IF EXISTS outbox_refuses')
    if (on) {
      await session.query(
        "CREATE TRIGGER outbox_refuses BEFORE INSERT ON mail_outbox FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'outbox refuses'",
      )
    }
  }

  t.test('register: no user without its verification mail', async (t) => {
    const email = uniqueEmail('atomic')
    await failMail(true)
    const refused = await post(app, '/auth/register', { email, password: PASSWORD })
    t.ok(refused.statusCode >= 500, `register failed (${refused.statusCode})`)
    const [row] = await session.query<{ count: bigint }[]>('SELECT COUNT(*) AS count FROM users WHERE email = ?', [email])
    t.equal(Number(row?.count), 0, 'no user was left behind')
    await failMail(false)
    t.equal((await post(app, '/auth/register', { email, password: PASSWORD })).statusCode, 201, 'the address is still free')
  })

  t.test('reset: password, logins and link unchanged when its notice cannot be queued', async (t) => {
    const email = uniqueEmail('atomic-reset')
    t.equal((await post(app, '/auth/register', { email, password: PASSWORD })).statusCode, 201)
    const tokens = await login(app, email)
    t.equal((await post(app, '/auth/password/forgot', { email })).statusCode, 202)
    const token = linkTokenOf(await smtp.mailTo(email, 'Reset your password'))

    await failMail(true)
    const refused = await post(app, '/auth/password/reset', { token, newPassword: 'a brand new passphrase here' })
    t.ok(refused.statusCode >= 500, `reset failed (${refused.statusCode})`)
    await failMail(false)

    t.equal((await post(app, '/auth/login', { email, password: PASSWORD })).statusCode, 200, 'the old password still works')
    t.equal((await refresh(app, tokens.refreshToken!)).statusCode, 200, 'the old login still refreshes')
    t.equal((await post(app, '/auth/password/reset', { token, newPassword: 'a brand new passphrase here' })).statusCode, 204, 'the link is unused')
  })
})
