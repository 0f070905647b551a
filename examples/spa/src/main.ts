// Entry point: read where the API is, wire the forms and buttons to the session, restore the session.
import { createApiClient } from '../../../clients/typescript/client.js'
import { createAdmin, type Admin } from './admin.js'
import { createDevices, type Devices } from './devices.js'
import { createLinks, linkPageOf, takeLinkToken, type Links } from './links.js'
import { createSession, type Session } from './session.js'
import { createView, element, whileDisabled } from './view.js'

interface SpaConfig {
  apiBaseUrl: string
}

declare global {
  interface Window {
    /** For the end-to-end test: trigger a refresh at a chosen moment. Holds no token. */
    __spa?: Readonly<{ refreshNow(): Promise<boolean> }>
  }
}

/** The static server writes config.json, so one build runs against any API address. */
async function loadConfig(): Promise<SpaConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' })
  if (!response.ok) throw new Error(`config.json: ${response.status}`)
  return (await response.json()) as SpaConfig
}

function fieldsOf(form: HTMLFormElement) {
  const data = new FormData(form)
  return {
    email: String(data.get('email') ?? ''),
    password: String(data.get('password') ?? ''),
    rememberMe: data.get('rememberMe') === 'on',
  }
}

/** Runs a form's action with its button disabled. */
function onSubmit(form: HTMLFormElement, action: (fields: ReturnType<typeof fieldsOf>) => Promise<unknown>) {
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void whileDisabled(form.querySelector('button'), () => action(fieldsOf(form)))
  })
}

function onClick(id: string, action: () => Promise<unknown>) {
  const button = element<HTMLButtonElement>(id)
  button.addEventListener('click', () => void whileDisabled(button, action))
}

function wire(session: Session, devices: Devices, admin: Admin) {
  const loginForm = element<HTMLFormElement>('login-form')
  const registerForm = element<HTMLFormElement>('register-form')

  onSubmit(registerForm, async ({ email, password }) => {
    if (!(await session.register(email, password))) return
    registerForm.reset()
    element<HTMLInputElement>('login-email').value = email
    element<HTMLInputElement>('login-password').focus()
  })
  onSubmit(loginForm, async ({ email, password, rememberMe }) => {
    if (await session.login(email, password, rememberMe)) loginForm.reset()
  })
  const forgotForm = element<HTMLFormElement>('forgot-form')
  element('forgot-open').addEventListener('click', () => {
    forgotForm.hidden = false
    element<HTMLInputElement>('forgot-email').value = element<HTMLInputElement>('login-email').value
    element<HTMLInputElement>('forgot-email').focus()
  })
  onSubmit(forgotForm, async ({ email }) => {
    if (await session.forgotPassword(email)) forgotForm.hidden = true
  })
  const emailForm = element<HTMLFormElement>('email-form')
  onSubmit(emailForm, async ({ email, password }) => {
    if (await session.changeEmail(email, password)) emailForm.reset()
  })
  onClick('reload-profile', () => session.reloadUser())
  onClick('sessions-reload', () => devices.reload())
  onClick('sessions-end-others', () => devices.endOthers())
  onClick('events-more', () => devices.olderEvents())
  onSubmit(element<HTMLFormElement>('admin-search-form'), ({ email }) => admin.search(email))
  onClick('admin-more', () => admin.more())
  onClick('logout', () => session.logout())
  onClick('logout-all', () => session.logoutEverywhere())
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') session.resumeIfDue()
  })
}

/** A page a mail linked to: take its token out of the address bar, then spend it (reset: once the form is sent). */
async function openLink(links: Links) {
  const page = linkPageOf(location.pathname)
  if (!page) return
  const token = takeLinkToken()
  if (page === 'verify-email') await links.verifyEmail(token)
  if (page === 'confirm-email') await links.confirmEmail(token)
  if (page !== 'reset-password' || !links.showResetForm(token) || !token) return
  const resetForm = element<HTMLFormElement>('reset-form')
  resetForm.hidden = false
  onSubmit(resetForm, async ({ password }) => {
    if (await links.resetPassword(token, password)) resetForm.hidden = true
  })
}

async function main() {
  const { apiBaseUrl } = await loadConfig()
  // credentials: 'include' makes the browser store the API's Set-Cookie and send the cookie back cross-origin.
  const api = createApiClient(apiBaseUrl, { credentials: 'include' })
  const ui = createView({ page: location.origin, api: new URL(apiBaseUrl).origin })
  // The device lists load whenever the page turns logged in: after a login, a restored session, a reload.
  // The admin page loads when it turns admin, and forgets its list when it no longer is.
  let devices: Devices | undefined
  let admin: Admin | undefined
  const session = createSession(api, apiBaseUrl, {
    ...ui,
    render(view) {
      const wasLoggedIn = element('logged-in-view').hidden === false
      const wasAdmin = element('admin-view').hidden === false
      ui.render(view)
      if (view.status === 'logged-in' && !wasLoggedIn) void devices?.reload()
      const isAdmin = element('admin-view').hidden === false
      if (isAdmin && !wasAdmin) void admin?.open()
      if (!isAdmin && wasAdmin) admin?.close()
    },
  })
  devices = createDevices(api, session)
  admin = createAdmin(api, session)
  wire(session, devices, admin)
  window.__spa = Object.freeze({ refreshNow: () => session.refreshNow() })
  // The link first: after a verified address, the restored session's GET /me already says so.
  await openLink(createLinks(api, apiBaseUrl))
  await session.start()
}

main().catch((error: unknown) => {
  const notice = element('notice')
  notice.hidden = false
  notice.dataset.tone = 'error'
  notice.textContent = `The app could not start: ${(error as Error).message}`
})
