// "Where you're signed in" and "Account activity": the user's sessions (one per login, this browser's
// marked) with a sign-out button each, and the security event log, a page at a time.
import type { ApiClient, AuthEvent, SignedInSession } from '../../../clients/typescript/client.js'
import type { Session } from './session.js'
import { element } from './view.js'

const EVENT_WORDS: Record<AuthEvent['type'], string> = {
  login_succeeded: 'Signed in',
  login_failed: 'A sign-in failed',
  login_throttled: 'Sign-ins were blocked for a while after too many failures',
  session_revoked: 'A session was signed out',
  logout_all: 'Signed out everywhere',
  refresh_reuse_detected: 'A refresh token was used twice; that session was ended',
  password_changed: 'Password changed',
  password_reset_requested: 'A password reset link was requested',
  password_reset: 'Password reset from a mailed link',
  email_verified: 'Email address confirmed',
  email_change_requested: 'An email change was requested',
  email_changed: 'Email address changed',
  account_deleted: 'Account deleted',
  admin_user_created: 'An admin created this account',
  admin_user_updated: 'An admin changed this account',
  admin_sessions_revoked: 'An admin signed this account out everywhere',
  admin_user_deleted: 'An admin deleted this account',
}

const when = (iso: string) => new Date(iso).toLocaleString()

function sessionLine(session: SignedInSession, onEnd: (id: string) => void): HTMLLIElement {
  const line = document.createElement('li')
  line.dataset.sessionId = session.id
  const name = document.createElement('strong')
  name.textContent = session.device
  const facts = document.createElement('span')
  facts.className = 'facts'
  facts.textContent = `${session.ip} · last used ${when(session.lastUsedAt)} · signed in ${when(session.createdAt)}`
  line.append(name, facts)
  if (session.current) {
    const tag = document.createElement('em')
    tag.className = 'tag'
    tag.textContent = 'this browser'
    line.append(' ', tag)
  } else {
    const button = document.createElement('button')
    button.type = 'button'
    button.className = 'secondary end-session'
    button.textContent = 'Sign out'
    button.addEventListener('click', () => onEnd(session.id))
    line.append(' ', button)
  }
  return line
}

function eventLine(event: AuthEvent): HTMLLIElement {
  const line = document.createElement('li')
  line.dataset.eventType = event.type
  const time = document.createElement('time')
  time.textContent = when(event.at)
  const where = [event.device, event.ip].filter(Boolean).join(', ')
  line.append(time, ` ${EVENT_WORDS[event.type] ?? event.type}${where ? ` (${where})` : ''}`)
  return line
}

export function createDevices(api: ApiClient, session: Session) {
  let olderCursor: string | null = null

  async function loadSessions(): Promise<void> {
    const outcome = await session.call('GET /me/sessions', (init) => api.GET('/me/sessions', init))
    if (!outcome?.ok) return
    element('sessions-list').replaceChildren(...outcome.data.items.map((item) => sessionLine(item, (id) => void endOne(id))))
  }

  async function loadEvents(more = false): Promise<void> {
    const cursor = more ? (olderCursor ?? undefined) : undefined
    const outcome = await session.call('GET /me/events', (init) =>
      api.GET('/me/events', { ...init, params: { query: { limit: 10, cursor } } }),
    )
    if (!outcome?.ok) return
    const lines = outcome.data.items.map(eventLine)
    if (more) element('events-list').append(...lines)
    else element('events-list').replaceChildren(...lines)
    olderCursor = outcome.data.nextCursor
    element('events-more').hidden = olderCursor === null
  }

  async function endOne(id: string): Promise<void> {
    const outcome = await session.call('DELETE /me/sessions/{id}', (init) =>
      api.DELETE('/me/sessions/{id}', { ...init, params: { path: { id } } }),
    )
    if (outcome) session.report(outcome, 'That device is signed out: its next refresh fails')
    await Promise.all([loadSessions(), loadEvents()])
  }

  return {
    /** Both lists, fresh: after login, and when the person asks. */
    async reload(): Promise<void> {
      await Promise.all([loadSessions(), loadEvents()])
    },
    olderEvents: () => loadEvents(true),
    async endOthers(): Promise<void> {
      const outcome = await session.call('DELETE /me/sessions?scope=others', (init) =>
        api.DELETE('/me/sessions', { ...init, params: { query: { scope: 'others' } } }),
      )
      if (outcome) session.report(outcome, 'Every other device is signed out: each one\'s next refresh fails')
      await Promise.all([loadSessions(), loadEvents()])
    },
  }
}

export type Devices = ReturnType<typeof createDevices>
