// "Users" (admins only): find users by the start of their address, then disable, enable or sign out one.
// The page shows it when the access token says admin; the API re-checks the role in its database on every call.
import type { ApiClient, components } from '../../../clients/typescript/client.js'
import type { Session } from './session.js'
import { element, whileDisabled } from './view.js'

type AdminUser = components['schemas']['AdminUser']

interface LineActions {
  setDisabled(user: AdminUser, disabled: boolean): Promise<void>
  endSessions(user: AdminUser): Promise<void>
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never')
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`

/** A button that stays disabled while its call is in flight. */
function actionButton(text: string, className: string, action: () => Promise<void>): HTMLButtonElement {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = className
  button.textContent = text
  button.addEventListener('click', () => void whileDisabled(button, action))
  return button
}

function userLine(user: AdminUser, actions: LineActions): HTMLLIElement {
  const line = document.createElement('li')
  line.dataset.userId = user.id
  line.dataset.disabled = String(user.disabled)
  const email = document.createElement('strong')
  email.textContent = user.email
  const role = document.createElement('em')
  role.className = 'tag'
  role.textContent = user.role
  const state = document.createElement('em')
  state.className = user.disabled ? 'tag disabled' : 'tag'
  state.textContent = user.disabled ? 'disabled' : 'enabled'
  const facts = document.createElement('span')
  facts.className = 'facts'
  const disabledWhy = user.disabled
    ? ` · disabled ${when(user.disabledAt)}${user.disabledReason ? `: ${user.disabledReason}` : ''}`
    : ''
  facts.textContent = `${plural(user.sessions, 'live session')} · last login ${when(user.lastLoginAt)}${disabledWhy}`
  const toggle = user.disabled
    ? actionButton('Enable', 'secondary enable-user', () => actions.setDisabled(user, false))
    : actionButton('Disable', 'danger disable-user', () => actions.setDisabled(user, true))
  const endSessions = actionButton('End sessions', 'secondary end-user-sessions', () => actions.endSessions(user))
  line.append(email, role, state, facts, toggle, endSessions)
  return line
}

export function createAdmin(api: ApiClient, session: Session) {
  let shownQuery = ''
  let nextCursor: string | null = null
  // Bumped by every search and by close(): an answer to an older one must not overwrite the list.
  let searchGeneration = 0

  function showLine(user: AdminUser) {
    const old = element('admin-users').querySelector(`li[data-user-id="${CSS.escape(user.id)}"]`)
    old?.replaceWith(userLine(user, actions))
  }

  async function search(query: string, more = false): Promise<void> {
    const generation = ++searchGeneration
    const cursor = more ? (nextCursor ?? undefined) : undefined
    const outcome = await session.call('GET /admin/users', (init) =>
      api.GET('/admin/users', { ...init, params: { query: { query: query || undefined, cursor, limit: 20 } } }),
    )
    if (!outcome || generation !== searchGeneration) return
    if (!outcome.ok) {
      session.fail('Could not search the users', outcome.failure)
      return
    }
    shownQuery = query
    const lines = outcome.data.items.map((user) => userLine(user, actions))
    if (more) element('admin-users').append(...lines)
    else element('admin-users').replaceChildren(...lines)
    nextCursor = outcome.data.nextCursor
    element('admin-more').hidden = nextCursor === null
    const count = element('admin-users').children.length
    const whose = query ? `whose address starts with “${query}”` : 'in all'
    element('admin-summary').textContent = count === 0 ? `No users ${whose}` : `${plural(count, 'user')} ${whose}, by address`
  }

  const actions: LineActions = {
    async setDisabled(user, disabled) {
      const reason = element<HTMLInputElement>('admin-reason').value.trim()
      const body = disabled ? { disabled, ...(reason ? { disabledReason: reason } : {}) } : { disabled }
      const outcome = await session.call('PATCH /admin/users/{id}', (init) =>
        api.PATCH('/admin/users/{id}', { ...init, params: { path: { id: user.id } }, body }),
      )
      if (!outcome) return
      if (!outcome.ok) {
        session.fail(`Could not ${disabled ? 'disable' : 'enable'} ${user.email}`, outcome.failure)
        return
      }
      showLine(outcome.data)
      session.report(
        outcome,
        disabled
          ? `${user.email} is disabled: every session is ended, so each device is logged out at its next refresh; logins are refused`
          : `${user.email} is enabled: they can log in again (the sessions that were ended stay ended)`,
      )
    },

    async endSessions(user) {
      const outcome = await session.call('POST /admin/users/{id}/sessions/revoke', (init) =>
        api.POST('/admin/users/{id}/sessions/revoke', { ...init, params: { path: { id: user.id } } }),
      )
      if (!outcome) return
      if (!outcome.ok) {
        session.fail(`Could not end the sessions of ${user.email}`, outcome.failure)
        return
      }
      session.report(outcome, `Every session of ${user.email} is ended: each device is logged out at its next refresh`)
      // 204 has no body: read the user again for the session count.
      const fresh = await session.call('GET /admin/users/{id}', (init) =>
        api.GET('/admin/users/{id}', { ...init, params: { path: { id: user.id } } }),
      )
      if (fresh?.ok) showLine(fresh.data)
    },
  }

  return {
    search: (query: string) => search(query.trim()),
    more: () => search(shownQuery, true),
    /** The page turned admin: start from everyone's first page, not what an earlier admin of this tab saw. */
    async open(): Promise<void> {
      element<HTMLInputElement>('admin-query').value = ''
      element<HTMLInputElement>('admin-reason').value = ''
      await search('')
    },
    /** The page is no longer an admin's: forget the list, and any answer still on its way. */
    close(): void {
      searchGeneration += 1
      nextCursor = null
      element('admin-users').replaceChildren()
      element('admin-summary').textContent = ''
      element('admin-more').hidden = true
    },
  }
}

export type Admin = ReturnType<typeof createAdmin>
