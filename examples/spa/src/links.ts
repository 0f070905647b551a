// The pages the API's mails link to: ${APP_URL}/verify-email#token=…, /reset-password#token=…,
// /confirm-email#token=…. The token is in the fragment, so it never reaches a server log or a Referer; the
// page takes it out of the address bar at once and POSTs it. Nothing here needs the session.
import type { ApiClient } from '../../../clients/typescript/client.js'
import { attempt, describeFailure, type Failure } from './api-call.js'
import { showLink } from './view.js'

export type LinkPage = 'verify-email' | 'reset-password' | 'confirm-email'

const PAGES: Record<string, LinkPage> = {
  '/verify-email': 'verify-email',
  '/reset-password': 'reset-password',
  '/confirm-email': 'confirm-email',
}

export const linkPageOf = (pathname: string): LinkPage | undefined => PAGES[pathname]

/** The link's token, once: the fragment is cleared from the address bar and the history entry. */
export function takeLinkToken(): string | undefined {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? undefined
  if (location.hash) history.replaceState(null, '', location.pathname + location.search)
  return token || undefined
}

// What a person should make of a link that no longer works; the API's own detail follows.
const LINK_FAILED: Record<string, string> = {
  link_invalid: 'This link is not valid, or it was already used.',
  link_expired: 'This link has expired: ask for a new one.',
  email_taken: 'Another account has this address now.',
}

export function createLinks(api: ApiClient, apiBaseUrl: string) {
  const failed = (heading: string, failure: Failure) => {
    const code = failure.kind === 'problem' ? failure.problem.code : ''
    showLink(heading, `${LINK_FAILED[code] ?? 'That did not work.'} ${describeFailure(failure, apiBaseUrl)}`, 'error')
  }
  const noToken = (heading: string) => showLink(heading, 'This address has no token: open the link from the mail as it is.', 'error')
  /** POSTs a link's token to the route that consumes it, and says how that went. */
  async function consume(
    token: string | undefined,
    path: '/auth/verify-email' | '/auth/email/confirm',
    heading: string,
    success: (email: string) => string,
  ): Promise<void> {
    if (!token) return noToken(heading)
    showLink(heading, 'Checking the link…')
    const outcome = await attempt(() => api.POST(path, { body: { token } }))
    if (!outcome.ok) return failed(heading, outcome.failure)
    showLink(heading, success(outcome.data.email), 'success')
  }

  return {
    verifyEmail(token: string | undefined): Promise<void> {
      return consume(token, '/auth/verify-email', 'Confirm your email address', (email) => `Thank you: ${email} is verified.`)
    },

    confirmEmail(token: string | undefined): Promise<void> {
      return consume(token, '/auth/email/confirm', 'Confirm your new email address', (email) => `Done: the address of your account is now ${email}.`)
    },

    /** Shows the new-password form; the token is only spent when it is sent. True once the password is set. */
    showResetForm(token: string | undefined): boolean {
      const heading = 'Choose a new password'
      if (!token) {
        noToken(heading)
        return false
      }
      showLink(heading, 'Enter a new password for your account.')
      return true
    },

    async resetPassword(token: string, newPassword: string): Promise<boolean> {
      const heading = 'Choose a new password'
      const outcome = await attempt(() => api.POST('/auth/password/reset', { body: { token, newPassword } }))
      if (!outcome.ok) {
        failed(heading, outcome.failure)
        // A password the API refused can be corrected; a dead link cannot.
        return outcome.failure.kind === 'problem' && outcome.failure.problem.code !== 'validation_failed'
      }
      showLink(heading, 'Your password is changed, and every login of this account has ended. Log in with the new one.', 'success')
      return true
    },
  }
}

export type Links = ReturnType<typeof createLinks>
