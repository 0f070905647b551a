// The browser session: who is logged in, the access token, and keeping it fresh.
// The access token lives in this module's closure only: never on window, in storage or in a cookie, so a
// script injected into the page cannot simply read it out of somewhere. The refresh token is the API's
// HttpOnly cookie; this code never sees it, it only asks the browser to send it (credentials: 'include').
import type { ApiClient, Me, TokenResponse } from '../../../clients/typescript/client.js'
import { attempt, describeFailure, problemCode, type Failure, type FetchResult, type Outcome } from './api-call.js'

// Calls that rely on the refresh cookie must carry this header, or the API answers 403 csrf_failed.
// A custom header also forces a CORS preflight, which the API refuses for origins not in CORS_ORIGINS.
const COOKIE_CALL = { headers: { 'X-Requested-With': 'XMLHttpRequest' } }
const TRANSIENT_RETRY_MS = 5_000

export type RefreshReason = 'start' | 'scheduled' | 'after-401' | 'resume' | 'manual'

export type SessionView =
  | { status: 'starting' }
  | { status: 'logged-out' }
  | {
      status: 'logged-in'
      user: Me
      /** The access token's `role` claim, read again at every refresh: it only decides what the page shows. */
      role: Me['role']
      accessExpiresAt: Date
      nextRefreshAt: Date
      silentRefreshes: number
    }

export type Tone = 'info' | 'success' | 'error'

export interface SessionUi {
  render(view: SessionView): void
  /** Something a person should read now: the notice banner (and the activity log). */
  notify(tone: Tone, text: string): void
  /** A line for the activity log only. */
  log(text: string): void
}

type Authorization = { headers: { Authorization: string } }

const REFRESHED: Record<Exclude<RefreshReason, 'start'>, string> = {
  scheduled: 'Access token refreshed silently, before it expired',
  'after-401': 'Access token refreshed after a 401',
  resume: 'Access token refreshed: the tab is visible again and the token was due',
  manual: 'Access token refreshed on request',
}

// What a person should make of each way a refresh token stops working; the API's own detail follows.
const SESSION_ENDED: Record<string, string> = {
  token_missing: 'this browser no longer holds a refresh cookie',
  token_expired: 'the login expired',
  token_revoked: 'it was logged out, here or with "log out everywhere", the password was reset, or an admin ended it',
  token_reused: 'a refresh token was used twice, so the login was ended for safety',
  token_invalid: 'the refresh cookie is not valid',
}

/** Refresh a quarter of the lifetime before expiry, at most a minute before: at 15 s of 20 s, at 14 min of 15. */
export function refreshDelayMs(expiresInSeconds: number): number {
  const lifetime = expiresInSeconds * 1000
  return Math.max(1000, lifetime - Math.min(60_000, lifetime / 4))
}

/**
 * The `role` claim of an access token, not verified: a forged "admin" would only show the admin page, whose
 * every call the API refuses (it checks the role in its database).
 */
export function roleClaimOf(accessToken: string): Me['role'] {
  try {
    const payload = (accessToken.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')
    return (JSON.parse(atob(payload)) as { role?: unknown }).role === 'admin' ? 'admin' : 'user'
  } catch {
    return 'user'
  }
}

export function createSession(api: ApiClient, apiBaseUrl: string, ui: SessionUi) {
  let accessToken: string | undefined
  let user: Me | undefined
  let accessExpiresAt = 0
  let nextRefreshAt = 0
  let silentRefreshes = 0
  let refreshTimer: ReturnType<typeof setTimeout> | undefined
  let inFlightRefresh: Promise<boolean> | undefined
  // Bumped by every login and logout, so a refresh answered afterwards cannot bring back the old session.
  let generation = 0

  const describe = (failure: Failure) => describeFailure(failure, apiBaseUrl)

  function publish() {
    if (accessToken && user) {
      ui.render({
        status: 'logged-in',
        user,
        role: roleClaimOf(accessToken),
        accessExpiresAt: new Date(accessExpiresAt),
        nextRefreshAt: new Date(nextRefreshAt),
        silentRefreshes,
      })
    } else {
      ui.render({ status: accessToken ? 'starting' : 'logged-out' })
    }
  }

  function scheduleRefresh(delayMs: number) {
    clearTimeout(refreshTimer)
    nextRefreshAt = Date.now() + delayMs
    refreshTimer = setTimeout(() => void refresh('scheduled'), delayMs)
  }

  function acceptTokens(tokens: TokenResponse) {
    accessToken = tokens.accessToken
    accessExpiresAt = Date.now() + tokens.expiresIn * 1000
    scheduleRefresh(refreshDelayMs(tokens.expiresIn))
  }

  function endSession() {
    generation += 1
    accessToken = undefined
    user = undefined
    silentRefreshes = 0
    clearTimeout(refreshTimer)
    publish()
  }

  /** Every caller in this tab shares one POST /auth/refresh: a second rotation would only race the first. */
  function refresh(reason: RefreshReason): Promise<boolean> {
    inFlightRefresh ??= rotate(reason).finally(() => {
      inFlightRefresh = undefined
    })
    return inFlightRefresh
  }

  async function rotate(reason: RefreshReason): Promise<boolean> {
    const startedIn = generation
    const outcome = await attempt(() => api.POST('/auth/refresh', COOKIE_CALL))
    if (startedIn !== generation) return accessToken !== undefined
    if (!outcome.ok) return refreshFailed(reason, outcome.failure)
    acceptTokens(outcome.data)
    if (reason === 'start') {
      ui.log('Session restored from the refresh cookie')
    } else {
      silentRefreshes += 1
      ui.log(REFRESHED[reason])
    }
    publish()
    return true
  }

  function refreshFailed(reason: RefreshReason, failure: Failure): boolean {
    if (failure.kind === 'problem' && failure.status === 401) {
      // Missing, expired, revoked or reused: the refresh token cannot be used again, so this session is over.
      endSession()
      const code = problemCode(failure) ?? ''
      if (reason === 'start' && code === 'token_missing') ui.log('No session to restore')
      else ui.notify('error', `Your session has ended: ${SESSION_ENDED[code] ?? code}. Log in again. API: ${describe(failure)}`)
      return false
    }
    const what = reason === 'start' ? 'Could not restore the session' : 'Could not refresh the access token'
    ui.notify('error', `${what}: ${describe(failure)}`)
    // A 503 or a dropped connection says nothing about the session: try again while the token lasts.
    if (accessToken) scheduleRefresh(TRANSIENT_RETRY_MS)
    else publish()
    return false
  }

  /** A Bearer call; on a 401 it refreshes (shared with any refresh in flight) and retries exactly once. */
  async function authorized<T>(
    label: string,
    send: (init: Authorization) => Promise<FetchResult<T>>,
  ): Promise<Outcome<T> | undefined> {
    const used = accessToken ?? ((await refresh('after-401')) ? accessToken : undefined)
    if (!used) return undefined
    const first = await attempt(() => send({ headers: { Authorization: `Bearer ${used}` } }))
    if (first.ok || first.failure.kind !== 'problem' || first.failure.status !== 401) return first
    ui.log(`${label} answered 401 (${problemCode(first.failure)}): refreshing, then retrying once`)
    // Another call may already have refreshed while this one was in flight: then only retry.
    if (accessToken === used && !(await refresh('after-401'))) return undefined
    const fresh = accessToken
    if (!fresh) return undefined
    return attempt(() => send({ headers: { Authorization: `Bearer ${fresh}` } }))
  }

  async function loadUser(): Promise<void> {
    const outcome = await authorized('GET /me', (init) => api.GET('/me', init))
    if (!outcome) return
    if (!outcome.ok) {
      ui.notify('error', `Could not load the current user: ${describe(outcome.failure)}`)
      return
    }
    user = outcome.data
    ui.log(`GET /me: ${user.email} (${user.role})`)
    publish()
  }

  return {
    /** A Bearer call made for another part of the page, with the same refresh-and-retry-once. */
    call: authorized,

    /** Tells the person how a call made through `call` went: the API's problem, or `success`. */
    report<T>(outcome: Outcome<T>, success: string): void {
      if (outcome.ok) ui.notify('success', success)
      else ui.notify('error', `That did not work: ${describe(outcome.failure)}`)
    },

    /** Tells the person what could not be done, and the API's problem (its detail and code). */
    fail(what: string, failure: Failure): void {
      ui.notify('error', `${what}: ${describe(failure)}`)
    },

    /** On page load: the refresh cookie, if the browser has one, restores the session. */
    async start(): Promise<void> {
      publish()
      if (await refresh('start')) await loadUser()
    },

    refreshNow: () => refresh('manual'),

    /** Timers are throttled in background tabs; catch up as soon as the tab is seen again. */
    resumeIfDue(): void {
      if (accessToken && Date.now() >= nextRefreshAt) void refresh('resume')
    },

    reloadUser: loadUser,

    async register(email: string, password: string): Promise<boolean> {
      const outcome = await attempt(() => api.POST('/auth/register', { body: { email, password } }))
      if (!outcome.ok) {
        ui.notify('error', `Registration failed: ${describe(outcome.failure)}`)
        return false
      }
      ui.notify(
        'success',
        `Account created for ${outcome.data.email}. You can log in now; a link to confirm the address is on its way there.`,
      )
      return true
    },

    /** The API answers 202 the same way whether or not the address has an account. */
    async forgotPassword(email: string): Promise<boolean> {
      const outcome = await attempt(() => api.POST('/auth/password/forgot', { body: { email } }))
      if (!outcome.ok) {
        ui.notify('error', `Could not ask for a reset link: ${describe(outcome.failure)}`)
        return false
      }
      ui.notify('info', `If an account has the address ${email}, a link to choose a new password is on its way there.`)
      return true
    },

    async changeEmail(newEmail: string, currentPassword: string): Promise<boolean> {
      const outcome = await authorized('POST /me/email', (init) =>
        api.POST('/me/email', { ...init, body: { newEmail, currentPassword } }),
      )
      if (!outcome) return false
      if (!outcome.ok) {
        ui.notify('error', `Could not change the email address: ${describe(outcome.failure)}`)
        return false
      }
      ui.notify('info', `Check ${newEmail}: the address changes once the link mailed there is opened.`)
      return true
    },

    async login(email: string, password: string, rememberMe: boolean): Promise<boolean> {
      const outcome = await attempt(() =>
        api.POST('/auth/login', { body: { email, password, rememberMe, transport: 'cookie' } }),
      )
      if (!outcome.ok) {
        ui.notify('error', `Login failed: ${describe(outcome.failure)}`)
        return false
      }
      generation += 1
      silentRefreshes = 0
      acceptTokens(outcome.data)
      await loadUser()
      ui.notify('success', rememberMe ? 'Logged in; this browser will remember you' : 'Logged in for this browser session')
      return true
    },

    async logout(): Promise<void> {
      // A rotation in flight will set a newer cookie: wait for it, so that is the one we revoke.
      await inFlightRefresh
      const outcome = await attempt(() => api.POST('/auth/logout', COOKIE_CALL))
      if (outcome.ok) {
        endSession()
        ui.notify('info', 'Logged out: the session is revoked and the refresh cookie cleared')
      } else if (outcome.failure.kind === 'problem' && outcome.failure.status === 401) {
        endSession()
        ui.notify('info', `Logged out. The API had no session left to end: ${describe(outcome.failure)}`)
      } else {
        ui.notify('error', `Logout failed, you are still logged in: ${describe(outcome.failure)}`)
      }
    },

    async logoutEverywhere(): Promise<void> {
      const outcome = await authorized('POST /auth/logout-all', (init) => api.POST('/auth/logout-all', init))
      if (!outcome) return
      if (!outcome.ok) {
        ui.notify('error', `Logout everywhere failed: ${describe(outcome.failure)}`)
        return
      }
      endSession()
      ui.notify('info', 'Logged out everywhere: every session of this account ends at its next refresh')
    },
  }
}

export type Session = ReturnType<typeof createSession>
