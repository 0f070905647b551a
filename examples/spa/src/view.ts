// Drawing only: the session decides, this shows. Text goes in through textContent, never as HTML.
import type { SessionUi, SessionView, Tone } from './session.js'

const ACTIVITY_LINES = 12

export function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (!found) throw new Error(`#${id} is missing from index.html`)
  return found as T
}

/** Runs `action` with `button` disabled, so a double click does not send a call twice. */
export async function whileDisabled(button: HTMLButtonElement | null, action: () => Promise<unknown>): Promise<void> {
  if (button) button.disabled = true
  try {
    await action()
  } finally {
    if (button) button.disabled = false
  }
}

const clock = (date: Date) => date.toTimeString().slice(0, 8)

function setText(id: string, text: string) {
  element(id).textContent = text
}

const HEADINGS: Record<SessionView['status'], [heading: string, detail: string]> = {
  starting: ['Checking your session…', 'Asking the API whether this browser has a session.'],
  'logged-out': ['Logged out', 'Log in, or create an account first.'],
  'logged-in': [
    'Logged in',
    'The access token is kept in memory only; the refresh token is an HttpOnly cookie this page cannot read.',
  ],
}

function render(view: SessionView) {
  element('status').dataset.state = view.status
  element('logged-out-view').hidden = view.status !== 'logged-out'
  element('logged-in-view').hidden = view.status !== 'logged-in'
  element('email-form').hidden = view.status !== 'logged-in'
  element('sessions-view').hidden = view.status !== 'logged-in'
  element('events-view').hidden = view.status !== 'logged-in'
  // From the token's claim, not GET /me: a role changed by an admin shows at this tab's next refresh.
  element('admin-view').hidden = view.status !== 'logged-in' || view.role !== 'admin'
  const [heading, detail] = HEADINGS[view.status]
  setText('status-heading', view.status === 'logged-in' ? `Logged in as ${view.user.email}` : heading)
  setText('status-detail', detail)
  if (view.status !== 'logged-in') return
  setText('me-email', view.user.email)
  setText('me-verified', view.user.emailVerified ? 'yes' : 'not yet: open the link mailed to this address')
  setText('me-role', view.user.role)
  setText('me-id', view.user.id)
  setText('token-expires', clock(view.accessExpiresAt))
  setText('token-next-refresh', clock(view.nextRefreshAt))
  setText('token-refreshes', String(view.silentRefreshes))
}

function log(text: string) {
  const list = element('activity')
  const line = document.createElement('li')
  const time = document.createElement('time')
  time.textContent = clock(new Date())
  line.append(time, ` ${text}`)
  list.prepend(line)
  while (list.children.length > ACTIVITY_LINES) list.lastElementChild?.remove()
}

function notify(tone: Tone, text: string) {
  const notice = element('notice')
  notice.hidden = false
  notice.dataset.tone = tone
  notice.textContent = text
  log(text)
}

/** The page a mail's link opened: what it is, and how it went (or what to do next, with no tone). */
export function showLink(heading: string, text: string, tone?: Tone) {
  element('link-view').hidden = false
  setText('link-heading', heading)
  const result = element('link-result')
  result.textContent = text
  if (tone) result.dataset.tone = tone
  else delete result.dataset.tone
  if (tone) log(`${heading}: ${text}`)
}

export function createView(origins: { page: string; api: string }): SessionUi {
  setText('page-origin', origins.page)
  setText('api-origin', origins.api)
  return { render, notify, log }
}
