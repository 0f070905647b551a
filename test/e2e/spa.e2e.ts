// The example SPA (examples/spa) in real Chromium against the real API, served from another origin so that
// CORS with credentials and the refresh cookie are what a browser really does. Subtests run in order and
// tell one story; the screenshots in test-results/spa/ are numbered the same way.
// Run: npm run build && tap --timeout=180 test/e2e/spa.e2e.ts  (not *.test.ts: the unit suite skips it)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { BrowserContext, Page } from 'playwright-core'
import { buildSpa } from '../../examples/spa/build.mjs'
import { startSpaServer } from '../../examples/spa/serve.mjs'
import { linkPathOf, linkTokenOf, TestSmtpServer } from '../helpers/smtp.js'
import {
  checkPrerequisites,
  databaseUrl,
  dropAbandonedDatabases,
  dropDatabase,
  freePort,
  isDeviceListRead,
  isRefresh,
  launchChromium,
  problemCodeOf,
  recordApiCalls,
  runUserCli,
  screenshotter,
  startApi,
  summary,
  type ApiCall,
} from './spa-harness.js'

const ACCESS_TTL_SECONDS = 20
const EMAIL = 'ada@example.com'
// Long and unusual: the API may reject common passwords.
const PASSWORD = 'quartz lantern orbits seven sleepy walruses at dawn'
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/

const missing = checkPrerequisites()
if (missing.length > 0) throw new Error(`The SPA e2e test needs ${missing.join(' and ')}`)

// Three origins on one host: the API, the SPA it allows, and the same SPA from an origin it does not.
const database = `jwt_e2e_${process.pid}`
await dropAbandonedDatabases('jwt_e2e_')
const apiPort = await freePort()
const apiUrl = `http://127.0.0.1:${apiPort}`
const spaFiles = await buildSpa({ outdir: await mkdtemp(join(tmpdir(), 'spa-e2e-')), quiet: true })
const spa = await startSpaServer({ apiBaseUrl: apiUrl, root: spaFiles })
const stranger = await startSpaServer({ apiBaseUrl: apiUrl, root: spaFiles })
// A real SMTP server in this process: the API mails links to the SPA's origin, the test opens them.
const smtp = new TestSmtpServer()
await smtp.start()
const api = await startApi(apiPort, {
  SMTP_URL: smtp.url,
  APP_URL: spa.url,
  MAIL_POLL_INTERVAL_MS: '200',
  DATABASE_URL: databaseUrl(database),
  CORS_ORIGINS: spa.url,
  // The production setting: Chromium keeps Secure cookies from http://127.0.0.1 (a secure context).
  COOKIE_SECURE: 'true',
  ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL_SECONDS),
  REFRESH_TOKEN_TTL_SECONDS: '3600',
  REFRESH_REUSE_GRACE_SECONDS: '10',
  BCRYPT_COST: '10',
})
const browser = await launchChromium()
const shot = await screenshotter()

t.teardown(async () => {
  await browser.close()
  await api.stop()
  await Promise.all([spa.close(), stranger.close(), smtp.stop()])
  await dropDatabase(database)
  await rm(spaFiles, { recursive: true, force: true })
})

// --- small steps, named after what a person does or sees ---------------------------------------------

async function newBrowserContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 } })
  context.setDefaultTimeout(10_000)
  return context
}

interface Tab {
  page: Page
  calls: ApiCall[]
}

/** Opens the SPA and waits until it has asked the API whether there is a session. */
async function openSpa(context: BrowserContext, origin = spa.url): Promise<Tab> {
  const page = await context.newPage()
  const calls = recordApiCalls(page, apiUrl)
  await page.goto(origin)
  await page.locator('#status:not([data-state="starting"])').waitFor()
  return { page, calls }
}

/** The page's main heading, once it reads `expected` (or what it reads after 10 s, for the failure message). */
async function headingOf(page: Page, expected: string): Promise<string | null> {
  await page.getByRole('heading', { level: 1, name: expected, exact: true }).waitFor().catch(() => undefined)
  return page.textContent('#status-heading')
}

async function noticeOf(page: Page, containing: string): Promise<string> {
  await page.locator('#notice', { hasText: containing }).waitFor().catch(() => undefined)
  return (await page.textContent('#notice')) ?? ''
}

/** Like a person: look at the tab first. Chromium renders background tabs lazily, which slows everything down. */
async function press(page: Page, selector: string) {
  await page.bringToFront()
  await page.click(selector)
}

async function register(page: Page, email: string, password: string) {
  await page.bringToFront()
  await page.fill('#register-email', email)
  await page.fill('#register-password', password)
  await press(page, '#register-form button[type="submit"]')
}

async function logIn(page: Page, { email = EMAIL, password = PASSWORD, rememberMe = false } = {}) {
  await page.bringToFront()
  await page.fill('#login-email', email)
  await page.fill('#login-password', password)
  await page.setChecked('#login-remember', rememberMe)
  await press(page, '#login-form button[type="submit"]')
}

async function expectLoggedIn(t: Test, page: Page, message: string) {
  t.equal(await headingOf(page, `Logged in as ${EMAIL}`), `Logged in as ${EMAIL}`, message)
}

async function expectLoggedOut(t: Test, page: Page, message: string) {
  t.equal(await headingOf(page, 'Logged out'), 'Logged out', message)
}

async function refreshCookie(context: BrowserContext) {
  // The cookie is scoped to Path=/auth: ask for a URL under it.
  const cookies = await context.cookies(`${apiUrl}/auth/refresh`)
  return cookies.find((cookie) => cookie.name === 'refresh_token')
}

/** Runs the SPA's test hook; it answers true or false, never a token. */
const refreshNow = (page: Page) => page.evaluate<boolean>('window.__spa.refreshNow()')

const callsSince = (calls: ApiCall[], mark: number) => calls.slice(mark)

/** Every tab refreshes at one wall-clock moment, each on its own timer, so none waits on another's CDP call. */
async function refreshTogether(tabs: Tab[]) {
  const marks = tabs.map((tab) => tab.calls.length)
  const at = Date.now() + 300
  const results = await Promise.all(
    tabs.map((tab) =>
      tab.page.evaluate<boolean>(
        `new Promise((resolve) => setTimeout(() => window.__spa.refreshNow().then(resolve), ${at} - Date.now()))`,
      ),
    ),
  )
  const refreshes = tabs.map((tab, index) => callsSince(tab.calls, marks[index] ?? 0).find(isRefresh))
  const presented = await Promise.all(refreshes.map((call) => call?.request.headerValue('cookie')))
  const received = await Promise.all(
    refreshes.map(async (call) => (await call?.request.response())?.headerValue('set-cookie')),
  )
  return { results, presented, received }
}

// --- the story --------------------------------------------------------------------------------------------

const mainContext = await newBrowserContext()
let tab1: Tab
let tab2: Tab

t.test('a new visitor registers, is told what the API refused, and logs in', async (t) => {
  tab1 = await openSpa(mainContext)
  const { page } = tab1
  await expectLoggedOut(t, page, 'with no refresh cookie the app starts logged out')
  t.equal(await problemCodeOf(tab1.calls.find(isRefresh)), 'token_missing', 'the start-up refresh found no cookie')
  await shot(page, 'logged-out')

  await register(page, EMAIL, 'short')
  const refused = await noticeOf(page, 'Registration failed')
  t.match(refused, /Registration failed: .*password.*\(validation_failed\)/, 'the problem detail, naming the field, is shown')
  await shot(page, 'registration-refused-by-the-api')

  await register(page, EMAIL, PASSWORD)
  t.match(await noticeOf(page, 'Account created'), `Account created for ${EMAIL}`, 'registration is confirmed')
  await shot(page, 'registered')

  await logIn(page, { password: 'not the right passphrase at all' })
  t.match(await noticeOf(page, 'Login failed'), /Login failed: .+\(invalid_credentials\)/, 'a wrong password shows the detail')
  await shot(page, 'wrong-password')

  await logIn(page, { rememberMe: true })
  await expectLoggedIn(t, page, 'login works')
  t.equal(await page.textContent('#me-email'), EMAIL, 'the panel shows the user from GET /me')
  t.equal(await page.textContent('#me-role'), 'user')
  t.ok((await summary(tab1.calls)).includes('GET /me 200'), 'GET /me answered')
  await shot(page, 'logged-in')
})

t.test('no token is within reach of page scripts', async (t) => {
  const { page } = tab1
  const exposed = await page.evaluate<{ cookie: string; stored: string[]; globals: string[]; hook: string[] }>(`({
    cookie: document.cookie,
    stored: [localStorage, sessionStorage].flatMap((storage) =>
      Object.keys(storage).map((key) => key + '=' + storage.getItem(key))),
    globals: Object.getOwnPropertyNames(window).flatMap((name) => {
      try { const value = window[name]; return typeof value === 'string' ? [value] : [] } catch { return [] }
    }),
    hook: Object.keys(window.__spa),
  })`)
  t.notMatch(exposed.cookie, /refresh_token/, 'document.cookie does not show the refresh cookie')
  t.notMatch(exposed.cookie, JWT, 'document.cookie holds no token')
  t.notOk(exposed.stored.some((entry) => JWT.test(entry)), 'no token in localStorage or sessionStorage')
  t.same(exposed.stored, [], 'web storage is not used at all')
  t.notOk(exposed.globals.some((value) => JWT.test(value)), 'no token in a global variable')
  t.same(exposed.hook, ['refreshNow'], 'the test hook exposes one function and no data')

  const cookie = await refreshCookie(mainContext)
  t.ok(cookie, 'the browser holds the refresh cookie')
  t.match(cookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' }, 'HttpOnly, Secure, Strict, /auth only')
  t.ok(cookie && cookie.expires * 1000 > Date.now() + 29 * 86_400_000, 'remember me made it persistent (30 days)')
})

t.test('a reload keeps the user logged in', async (t) => {
  const { page, calls } = tab1
  const mark = calls.length
  await page.reload()
  await expectLoggedIn(t, page, 'the session is restored from the refresh cookie')
  // The device lists load alongside; the last subtest looks at them.
  const restored = callsSince(calls, mark).filter((call) => !isDeviceListRead(call))
  t.same(await summary(restored), ['POST /auth/refresh 200', 'GET /me 200'], 'refresh on start, then /me')
  await shot(page, 'reloaded-still-logged-in')
})

t.test('concurrent refreshes inside one tab share one request', async (t) => {
  const { page, calls } = tab1
  const mark = calls.length
  const results = await page.evaluate<boolean[]>('Promise.all([1, 2, 3].map(() => window.__spa.refreshNow()))')
  t.same(results, [true, true, true], 'all three callers got a fresh token')
  t.same(await summary(callsSince(calls, mark)), ['POST /auth/refresh 200'], 'exactly one POST /auth/refresh was sent')
})

t.test('two tabs refreshing at the same moment both stay logged in (grace window)', async (t) => {
  tab2 = await openSpa(mainContext)
  await expectLoggedIn(t, tab2.page, 'a second tab shares the cookie and restores the session')
  // Whether the two requests overlap is up to the schedulers; try again until they do (nearly always at once).
  let together = await refreshTogether([tab1, tab2])
  const results = [...together.results]
  for (let attempt = 2; attempt <= 3 && together.presented[0] !== together.presented[1]; attempt += 1) {
    together = await refreshTogether([tab1, tab2])
    results.push(...together.results)
  }
  t.ok(results.every(Boolean), 'every refresh succeeded')
  const [first, second] = together.presented
  t.ok(first && first === second, 'both tabs presented the same refresh token: the second was a replay within the grace window')
  t.equal(together.received[0], together.received[1], 'and both received the same successor')

  await expectLoggedIn(t, tab1.page, 'tab 1 still shows the user')
  await expectLoggedIn(t, tab2.page, 'tab 2 still shows the user')
  await shot(tab1.page, 'tab-1-after-simultaneous-refresh')
  await shot(tab2.page, 'tab-2-after-simultaneous-refresh')

  await tab1.page.reload()
  await expectLoggedIn(t, tab1.page, 'tab 1 is still logged in after a reload')
  await tab2.page.reload()
  await expectLoggedIn(t, tab2.page, 'tab 2 is still logged in after a reload')
})

t.test('the access token is refreshed silently before it expires', async (t) => {
  const { page, calls } = tab1
  const issued = calls.filter(isRefresh).at(-1)
  if (!issued) throw new Error('tab 1 has no refresh to count from')
  const next = await page.waitForRequest(
    (request) => request.url() === `${apiUrl}/auth/refresh` && request.method() === 'POST',
    { timeout: (ACCESS_TTL_SECONDS + 5) * 1000 },
  )
  const after = Date.now() - issued.sentAt
  t.equal((await next.response())?.status(), 200, 'the scheduled refresh succeeded')
  t.ok(after > ACCESS_TTL_SECONDS * 500, `not too early (${after} ms after the token was issued)`)
  t.ok(after < ACCESS_TTL_SECONDS * 1000, `before the ${ACCESS_TTL_SECONDS} s token expired`)
  await page.locator('#token-refreshes', { hasText: '1' }).waitFor()
  t.equal(await page.textContent('#token-refreshes'), '1', 'the page counts the silent refresh')
  t.match(await page.textContent('#activity'), 'refreshed silently', 'and logs it')
  await expectLoggedIn(t, page, 'still logged in')
  await shot(page, 'silent-refresh-before-expiry')
})

t.test('a 401 makes the app refresh and retry, once', async (t) => {
  const { page, calls } = tab1
  const me = `${apiUrl}/me`
  // The API sees a bad token (a real 401 from the server), as if the access token had expired or its key rotated.
  const sendBadToken = (route: import('playwright-core').Route) =>
    route.continue({ headers: { ...route.request().headers(), authorization: 'Bearer not-a-valid-token' } })

  await page.route(me, sendBadToken, { times: 1 })
  let mark = calls.length
  const retriedOk = page.waitForResponse((response) => response.url() === me && response.status() === 200)
  await press(page, '#reload-profile')
  await retriedOk
  const retried = callsSince(calls, mark)
  t.same(await summary(retried), ['GET /me 401', 'POST /auth/refresh 200', 'GET /me 200'], '401, refresh, retry')
  t.equal(await problemCodeOf(retried[0]), 'token_invalid', 'the 401 came from the API')
  await expectLoggedIn(t, page, 'the user never noticed')
  await shot(page, 'got-401-refreshed-and-retried')

  await page.route(me, sendBadToken)
  mark = calls.length
  await press(page, '#reload-profile')
  const notice = await noticeOf(page, 'Could not load the current user')
  t.match(notice, /Could not load the current user: .+\(token_invalid\)/, 'a second 401 is shown, not retried')
  t.same(await summary(callsSince(calls, mark)), ['GET /me 401', 'POST /auth/refresh 200', 'GET /me 401'], 'one retry only')
  await page.unroute(me)
  await shot(page, 'second-401-shown-not-retried-again')
})

t.test('"log out everywhere" ends the other tab and the other browser at their next refresh', async (t) => {
  const otherBrowser = await newBrowserContext()
  t.teardown(() => otherBrowser.close())
  const device = await openSpa(otherBrowser)
  await logIn(device.page)
  await expectLoggedIn(t, device.page, 'a second browser (another login, another refresh token family)')
  await shot(device.page, 'second-browser-logged-in')

  // Fresh access tokens, so no scheduled refresh fires in the next few seconds.
  await tab2.page.reload()
  await expectLoggedIn(t, tab2.page, 'tab 2 is logged in')
  await press(tab1.page, '#logout-all')
  await expectLoggedOut(t, tab1.page, 'tab 1 is logged out')
  t.match(await noticeOf(tab1.page, 'Logged out everywhere'), 'Logged out everywhere', 'and is told so')
  await shot(tab1.page, 'tab-1-logged-out-everywhere')

  await expectLoggedIn(t, tab2.page, 'tab 2 still shows the user: its access token is valid until it expires')
  await shot(tab2.page, 'tab-2-still-shown-until-its-next-refresh')

  let mark = tab2.calls.length
  t.equal(await refreshNow(tab2.page), false, "tab 2's next refresh fails")
  t.equal(await problemCodeOf(callsSince(tab2.calls, mark).find(isRefresh)), 'token_missing', 'the cookie was cleared')
  await expectLoggedOut(t, tab2.page, 'tab 2 shows logged out')
  t.match(await noticeOf(tab2.page, 'Your session has ended'), 'Your session has ended', 'and says the session ended')
  await shot(tab2.page, 'tab-2-session-ended')

  mark = device.calls.length
  t.equal(await refreshNow(device.page), false, "the other browser's next refresh fails")
  t.equal(await problemCodeOf(callsSince(device.calls, mark).find(isRefresh)), 'token_revoked', 'its token was revoked')
  await expectLoggedOut(t, device.page, 'the other browser shows logged out')
  t.match(await noticeOf(device.page, 'token_revoked'), /Your session has ended: .+\(token_revoked\)/, 'and says why')
  await shot(device.page, 'second-browser-session-ended')
})

t.test('log out clears the cookie, revokes the session, and a reload stays logged out', async (t) => {
  const { page, calls } = tab1
  await logIn(page)
  await expectLoggedIn(t, page, 'logged in again (without remember me)')
  const cookie = await refreshCookie(mainContext)
  t.equal(cookie?.expires, -1, 'without remember me the cookie ends with the browser session')

  const mark = calls.length
  await press(page, '#logout')
  await expectLoggedOut(t, page, 'logged out')
  t.same(await summary(callsSince(calls, mark)), ['POST /auth/logout 204'], 'the API ended the session')
  t.notOk(await refreshCookie(mainContext), 'the browser no longer has the refresh cookie')
  const replay = await fetch(`${apiUrl}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: cookie?.value }),
  })
  t.equal(((await replay.json()) as { code?: string }).code, 'token_revoked', 'and the API revoked the token it held')
  await shot(page, 'logged-out-with-the-button')

  const beforeReload = calls.length
  await page.reload()
  await expectLoggedOut(t, page, 'after a reload the app shows logged out')
  t.same(await summary(callsSince(calls, beforeReload)), ['POST /auth/refresh 401'], 'the start-up refresh had nothing to send')
  await shot(page, 'reloaded-still-logged-out')
})

t.test('an origin outside CORS_ORIGINS cannot use the API, nor the cookie', async (t) => {
  const preflight = (origin: string) =>
    fetch(`${apiUrl}/auth/refresh`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-requested-with' },
    })
  const allowed = await preflight(spa.url)
  t.equal(allowed.headers.get('access-control-allow-origin'), spa.url, 'the allowed origin is echoed')
  t.equal(allowed.headers.get('access-control-allow-credentials'), 'true', 'with credentials')
  const refused = await preflight(stranger.url)
  t.equal(refused.headers.get('access-control-allow-origin'), null, 'another origin gets no Access-Control-Allow-Origin')

  // One browser, logged in at the allowed origin, then opening the same app from the other origin.
  const context = await newBrowserContext()
  t.teardown(() => context.close())
  const home = await openSpa(context)
  await logIn(home.page)
  await expectLoggedIn(t, home.page, 'logged in at the allowed origin')
  const before = await refreshCookie(context)

  const page = await context.newPage()
  const console: string[] = []
  page.on('console', (message) => console.push(message.text()))
  const calls = recordApiCalls(page, apiUrl)
  await page.goto(stranger.url)
  await expectLoggedOut(t, page, 'the other origin cannot restore the session')
  t.match(await noticeOf(page, 'Cannot reach the API'), 'Cannot reach the API', 'the app says the call failed')
  await logIn(page)
  t.match(await noticeOf(page, 'Login failed'), /Login failed: Cannot reach the API/, 'login from there fails too')
  await expectLoggedOut(t, page, 'and it stays logged out')
  t.ok(console.some((line) => /blocked by CORS policy/.test(line)), 'Chromium reports the CORS block')
  t.same(await summary(calls), ['POST /auth/refresh failed', 'POST /auth/login failed'], 'no API answer reached the page')
  await shot(page, 'other-origin-blocked-by-cors')

  // SameSite=Strict would have let the cookie through (same site: only the port differs); the preflight did not.
  t.equal((await refreshCookie(context))?.value, before?.value, 'the refresh cookie was not used from the other origin')
  await home.page.reload()
  await expectLoggedIn(t, home.page, 'the allowed origin is still logged in')
})

// --- the links in mails ----------------------------------------------------------------------------------

const BEA = 'bea@example.com'
const NEW_PASSWORD = 'copper kettles hum twelve quiet sonatas by moonlight'
let beaContext: BrowserContext
let bea: Tab

/** The link in a mail, checked to point at the SPA's origin and the page it names. */
function linkIn(mail: { text: string }, path: string): string {
  const link = `${spa.url}${path}#token=${linkTokenOf(mail)}`
  if (!mail.text.includes(link)) throw new Error(`expected ${link} in the mail:\n${mail.text}`)
  return link
}

async function linkResultOf(page: Page, tone: 'success' | 'error'): Promise<string> {
  await page.locator(`#link-result[data-tone="${tone}"]`).waitFor().catch(() => undefined)
  return (await page.textContent('#link-result')) ?? ''
}

t.test('a new account confirms its address with the link mailed to it', async (t) => {
  beaContext = await newBrowserContext()
  bea = await openSpa(beaContext)
  const { page } = bea
  await register(page, BEA, PASSWORD)
  t.match(await noticeOf(page, 'Account created'), /link to confirm the address/, 'registration says a link is on its way')
  await logIn(page, { email: BEA })
  t.equal(await headingOf(page, `Logged in as ${BEA}`), `Logged in as ${BEA}`, 'logged in before confirming')
  t.match(await page.textContent('#me-verified'), /^not yet/, 'the panel says the address is not verified yet')
  await shot(page, 'registered-address-not-verified-yet')

  const mail = await smtp.mailTo(BEA, 'Confirm your email address')
  t.equal(linkPathOf(mail), '/verify-email', 'the mail links to the SPA\'s /verify-email')
  const link = linkIn(mail, '/verify-email')
  await page.goto(link)
  t.match(await linkResultOf(page, 'success'), `${BEA} is verified`, 'the page says the address is verified')
  t.equal(page.url(), `${spa.url}/verify-email`, 'the token was taken out of the address bar')
  t.equal(await headingOf(page, `Logged in as ${BEA}`), `Logged in as ${BEA}`, 'the session is restored on that page')
  await page.locator('#me-verified', { hasText: 'yes' }).waitFor()
  t.equal(await page.textContent('#me-verified'), 'yes', 'and GET /me now says emailVerified')
  await shot(page, 'address-verified-from-the-mail')

  // As from a mail client: a new tab (in this tab, only the fragment would change, and the page not reload).
  const again = await beaContext.newPage()
  await again.goto(link)
  t.match(await linkResultOf(again, 'error'), /\(link_invalid\)/, 'the link works once: opened again, the problem is shown')
  await shot(again, 'verify-link-used-twice')
  await again.close()
})

t.test('a password reset from the mailed link ends the login in the other browser at its next refresh', async (t) => {
  const otherBrowser = await newBrowserContext()
  t.teardown(() => otherBrowser.close())
  const device = await openSpa(otherBrowser)
  await logIn(device.page, { email: BEA })
  t.equal(await headingOf(device.page, `Logged in as ${BEA}`), `Logged in as ${BEA}`, 'another browser is logged in')

  const { page } = bea
  await press(page, '#logout')
  await expectLoggedOut(t, page, 'the first browser logs out, then forgets its password')
  await press(page, '#forgot-open')
  await page.fill('#forgot-email', BEA)
  await press(page, '#forgot-form button[type="submit"]')
  t.match(await noticeOf(page, 'If an account has the address'), BEA, 'the page says a link is on its way, if the account exists')
  await shot(page, 'forgot-password-link-requested')

  const mail = await smtp.mailTo(BEA, 'Reset your password')
  t.equal(linkPathOf(mail), '/reset-password', 'the mail links to the SPA\'s /reset-password')
  await page.goto(linkIn(mail, '/reset-password'))
  await page.locator('#reset-form').waitFor()
  t.equal(page.url(), `${spa.url}/reset-password`, 'the token was taken out of the address bar')
  await page.fill('#reset-password', 'short')
  await press(page, '#reset-form button[type="submit"]')
  t.match(await linkResultOf(page, 'error'), /\(validation_failed\)/, 'a password the API refuses is shown, the form stays')
  await page.fill('#reset-password', NEW_PASSWORD)
  await press(page, '#reset-form button[type="submit"]')
  t.match(await linkResultOf(page, 'success'), 'Your password is changed', 'the new password is set')
  t.ok(await page.locator('#reset-form').isHidden(), 'and the form is gone')
  await shot(page, 'password-reset-from-the-mail')

  const mark = device.calls.length
  t.equal(await refreshNow(device.page), false, "the other browser's next refresh fails")
  const refresh = callsSince(device.calls, mark).find(isRefresh)
  t.equal((await refresh?.request.response())?.status(), 401, 'the API answers 401')
  t.equal(await problemCodeOf(refresh), 'token_revoked', 'its refresh token was revoked by the reset')
  t.equal(await headingOf(device.page, 'Logged out'), 'Logged out', 'the other browser shows logged out')
  t.match(await noticeOf(device.page, 'Your session has ended'), 'Your session has ended', 'and says the session ended')
  await shot(device.page, 'other-browser-ended-by-the-reset')

  await logIn(page, { email: BEA })
  t.match(await noticeOf(page, 'Login failed'), /\(invalid_credentials\)/, 'the old password no longer works')
  await logIn(page, { email: BEA, password: NEW_PASSWORD })
  t.equal(await headingOf(page, `Logged in as ${BEA}`), `Logged in as ${BEA}`, 'the new one does')
  await shot(page, 'logged-in-with-the-new-password')
})

t.test('a signed-in user changes the address; it changes once the link mailed to the new one is opened', async (t) => {
  t.teardown(() => beaContext.close())
  const { page } = bea
  const newEmail = 'bea.renamed@example.com'
  await page.fill('#new-email', newEmail)
  await page.fill('#email-password', 'not the right passphrase at all')
  await press(page, '#email-form button[type="submit"]')
  t.match(await noticeOf(page, 'Could not change'), /Could not change the email address: .+\(invalid_credentials\)/, 'a wrong password is refused')
  await page.fill('#email-password', NEW_PASSWORD)
  await press(page, '#email-form button[type="submit"]')
  t.match(await noticeOf(page, `Check ${newEmail}`), 'the address changes once the link', 'the page says where the link went')
  t.equal(await page.textContent('#me-email'), BEA, 'the address has not changed yet')
  await shot(page, 'email-change-requested')

  await smtp.mailTo(BEA, 'Your email address is about to change')
  const mail = await smtp.mailTo(newEmail, 'Confirm your new email address')
  t.equal(linkPathOf(mail), '/confirm-email', 'the mail links to the SPA\'s /confirm-email')
  await page.goto(linkIn(mail, '/confirm-email'))
  t.match(await linkResultOf(page, 'success'), `now ${newEmail}`, 'the page says the address changed')
  t.equal(page.url(), `${spa.url}/confirm-email`, 'the token was taken out of the address bar')
  t.equal(await headingOf(page, `Logged in as ${newEmail}`), `Logged in as ${newEmail}`, 'the session goes on, under the new address')
  await shot(page, 'email-changed-from-the-mail')
})

t.test('"Where you\'re signed in": one device signs another out; it is logged out at its next refresh', async (t) => {
  const CY = 'cy@example.com'
  const laptopContext = await newBrowserContext()
  const phoneContext = await browser.newContext({
    viewport: { width: 1000, height: 720 },
    userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  })
  phoneContext.setDefaultTimeout(10_000)
  t.teardown(() => Promise.all([laptopContext.close(), phoneContext.close()]))
  const laptop = await openSpa(laptopContext)
  await register(laptop.page, CY, PASSWORD)
  await noticeOf(laptop.page, 'Account created')
  await logIn(laptop.page, { email: CY })
  t.equal(await headingOf(laptop.page, `Logged in as ${CY}`), `Logged in as ${CY}`, 'the laptop is logged in')
  const phone = await openSpa(phoneContext)
  await logIn(phone.page, { email: CY })
  t.equal(await headingOf(phone.page, `Logged in as ${CY}`), `Logged in as ${CY}`, 'so is the phone: two sessions')

  await press(laptop.page, '#sessions-reload')
  const phoneLine = laptop.page.locator('#sessions-list li', { hasText: 'Mobile Safari 17 on iOS' })
  await phoneLine.waitFor()
  t.equal(await laptop.page.locator('#sessions-list li').count(), 2, 'the laptop lists both sessions')
  t.match(await laptop.page.textContent('#sessions-list li:has(.tag)'), /Chrome Headless \d+ on Linux.*this browser/, 'its own is marked')
  t.match(await laptop.page.textContent('#events-list'), 'Signed in', 'and the activity shows the sign-ins')
  await shot(laptop.page, 'where-you-are-signed-in')

  await phoneLine.locator('button.end-session').click()
  t.match(await noticeOf(laptop.page, 'That device is signed out'), 'its next refresh fails', 'the laptop says what happens next')
  await laptop.page.locator('#sessions-list li', { hasText: 'Mobile Safari' }).waitFor({ state: 'detached' })
  t.equal(await laptop.page.locator('#sessions-list li').count(), 1, 'the phone is gone from the list')
  await laptop.page.locator('#events-list li[data-event-type="session_revoked"]').first().waitFor()
  t.pass('the activity shows the session was signed out')
  await shot(laptop.page, 'account-activity-after-signing-out-the-phone')

  t.equal(await headingOf(phone.page, `Logged in as ${CY}`), `Logged in as ${CY}`, 'the phone still shows the user until its next refresh')
  const mark = phone.calls.length
  t.equal(await refreshNow(phone.page), false, "the phone's next refresh fails")
  t.equal(await problemCodeOf(callsSince(phone.calls, mark).find(isRefresh)), 'token_revoked', 'its refresh token was revoked')
  t.equal(await headingOf(phone.page, 'Logged out'), 'Logged out', 'and it shows logged out')
  await shot(phone.page, 'phone-signed-out-by-the-laptop')

  // "Sign out all other devices" the same way, with the phone logged in again.
  await logIn(phone.page, { email: CY })
  t.equal(await headingOf(phone.page, `Logged in as ${CY}`), `Logged in as ${CY}`, 'the phone logs in again')
  await press(laptop.page, '#sessions-end-others')
  t.match(await noticeOf(laptop.page, 'Every other device is signed out'), 'next refresh fails')
  const again = phone.calls.length
  t.equal(await refreshNow(phone.page), false, 'the phone is signed out again')
  t.equal(await problemCodeOf(callsSince(phone.calls, again).find(isRefresh)), 'token_revoked')
  t.equal(await refreshNow(laptop.page), true, 'the laptop stays signed in')
})

// --- the admin page -----------------------------------------------------------------------------------------

const isAdminCall = (call: ApiCall) => call.path.startsWith('/admin/')

t.test('an admin finds a signed-in user and disables them; that browser is logged out at its next refresh', async (t) => {
  const ROOT_ADMIN = 'root@example.com'
  const DAN = 'dan@example.com'
  // As an operator makes the first admin: the user CLI, the password piped in.
  const created = await runUserCli(
    ['create', '--email', ROOT_ADMIN, '--role', 'admin', '--password-stdin'],
    { DATABASE_URL: databaseUrl(database), BCRYPT_COST: '10' },
    PASSWORD,
  )
  t.match(created, `Created ${ROOT_ADMIN}`, 'the user CLI made an admin')
  const adminContext = await newBrowserContext()
  const danContext = await newBrowserContext()
  t.teardown(() => Promise.all([adminContext.close(), danContext.close()]))

  const dan = await openSpa(danContext)
  await register(dan.page, DAN, PASSWORD)
  await noticeOf(dan.page, 'Account created')
  await logIn(dan.page, { email: DAN })
  t.equal(await headingOf(dan.page, `Logged in as ${DAN}`), `Logged in as ${DAN}`, 'a user is logged in in one browser')
  t.equal(await dan.page.textContent('#me-role'), 'user')
  t.ok(await dan.page.locator('#admin-view').isHidden(), 'a non-admin is not shown the admin page')
  await shot(dan.page, 'a-user-sees-no-admin-page')

  const admin = await openSpa(adminContext)
  await logIn(admin.page, { email: ROOT_ADMIN })
  t.equal(await headingOf(admin.page, `Logged in as ${ROOT_ADMIN}`), `Logged in as ${ROOT_ADMIN}`, 'the admin logs in in another')
  t.equal(await admin.page.textContent('#me-role'), 'admin', 'with the admin role in the token')
  await admin.page.locator('#admin-view').waitFor()
  await admin.page.locator('#admin-users li', { hasText: ROOT_ADMIN }).waitFor()
  t.match(await admin.page.textContent('#admin-summary'), /users in all/, 'the admin page opens on everyone, by address')
  await shot(admin.page, 'admin-page')

  await admin.page.fill('#admin-query', 'DAN')
  await press(admin.page, '#admin-search-form button[type="submit"]')
  await admin.page.locator('#admin-summary', { hasText: 'starts with “DAN”' }).waitFor()
  const danLine = admin.page.locator('#admin-users li', { hasText: DAN })
  t.equal(await admin.page.locator('#admin-users li').count(), 1, 'the search by the start of the address, any case, finds the user')
  t.match(await danLine.textContent(), /user.*enabled.*1 live session · last login (?!never)/, 'role, state, live sessions, last login')
  await shot(admin.page, 'admin-found-a-signed-in-user')

  // A fresh access token for the user, so no scheduled refresh of theirs fires before the one below.
  t.equal(await refreshNow(dan.page), true, 'the user refreshes before being disabled')
  await admin.page.fill('#admin-reason', 'Reported for spam')
  await danLine.locator('button.disable-user').click()
  t.match(await noticeOf(admin.page, `${DAN} is disabled`), 'logged out at its next refresh', 'the admin is told what happens next')
  await admin.page.locator('#admin-users li[data-disabled="true"]', { hasText: DAN }).waitFor()
  t.match(await danLine.textContent(), /disabled.*0 live sessions.*Reported for spam/, 'the line says disabled, no sessions, and why')
  await shot(admin.page, 'admin-disabled-the-user')

  t.equal(await headingOf(dan.page, `Logged in as ${DAN}`), `Logged in as ${DAN}`, 'the user is still shown until their next refresh')
  let mark = dan.calls.length
  t.equal(await refreshNow(dan.page), false, "the user's next refresh fails")
  t.equal(await problemCodeOf(callsSince(dan.calls, mark).find(isRefresh)), 'token_revoked', 'their refresh token was revoked')
  t.equal(await headingOf(dan.page, 'Logged out'), 'Logged out', 'and they are logged out')
  t.match(await noticeOf(dan.page, 'Your session has ended'), 'an admin ended it', 'the page says the session ended')
  await shot(dan.page, 'disabled-user-logged-out-at-next-refresh')

  await logIn(dan.page, { email: DAN })
  t.match(await noticeOf(dan.page, 'Login failed'), /Login failed: .+\(account_disabled\)/, 'their login is refused, with the detail')
  await shot(dan.page, 'disabled-user-login-refused')

  await danLine.locator('button.enable-user').click()
  t.match(await noticeOf(admin.page, `${DAN} is enabled`), 'can log in again', 'the admin enables the user again')
  await logIn(dan.page, { email: DAN })
  t.equal(await headingOf(dan.page, `Logged in as ${DAN}`), `Logged in as ${DAN}`, 'and they can log in')
  t.ok(await dan.page.locator('#admin-view').isHidden(), 'still no admin page for them')

  await press(admin.page, '#admin-search-form button[type="submit"]')
  await admin.page.locator('#admin-users li[data-disabled="false"]', { hasText: '1 live session' }).waitFor()
  t.pass('searched again, the user is enabled with one live session')
  t.equal(await refreshNow(dan.page), true, 'the user refreshes, and now holds a fresh token again')
  await danLine.locator('button.end-user-sessions').click()
  t.match(await noticeOf(admin.page, `Every session of ${DAN} is ended`), 'next refresh', 'the admin ends their sessions')
  await admin.page.locator('#admin-users li', { hasText: '0 live sessions' }).waitFor()
  t.match(await danLine.textContent(), /enabled.*0 live sessions/, 'the line is read again: enabled, no sessions')
  await shot(admin.page, 'admin-ended-the-users-sessions')
  mark = dan.calls.length
  t.equal(await refreshNow(dan.page), false, "the user's next refresh fails again")
  t.equal(await problemCodeOf(callsSince(dan.calls, mark).find(isRefresh)), 'token_revoked', 'revoked by the admin')
  t.equal(await headingOf(dan.page, 'Logged out'), 'Logged out', 'they are logged out, the account still enabled')
  await shot(dan.page, 'user-signed-out-by-the-admin')

  // The API's problem, shown like every other: the last enabled admin cannot disable themselves.
  await admin.page.fill('#admin-query', 'root@')
  await press(admin.page, '#admin-search-form button[type="submit"]')
  await admin.page.locator('#admin-summary', { hasText: 'starts with “root@”' }).waitFor()
  await admin.page.locator('#admin-users li', { hasText: ROOT_ADMIN }).locator('button.disable-user').click()
  t.match(await noticeOf(admin.page, 'Could not disable'), /Could not disable root@example\.com: .+\(last_admin\)/, 'the last admin is kept')
  await shot(admin.page, 'admin-cannot-disable-the-last-admin')

  t.notOk(dan.calls.some(isAdminCall), 'the non-admin page never called the admin API')
  t.ok(admin.calls.some(isAdminCall), 'the admin page did')
  await logIn(dan.page, { email: DAN })
  t.equal(await headingOf(dan.page, `Logged in as ${DAN}`), `Logged in as ${DAN}`, 'the user logs in once more')
  await dan.page.reload()
  t.equal(await headingOf(dan.page, `Logged in as ${DAN}`), `Logged in as ${DAN}`, 'and after a reload')
  t.ok(await dan.page.locator('#admin-view').isHidden(), 'a non-admin never sees the admin page, after a login or a restored session')
})
