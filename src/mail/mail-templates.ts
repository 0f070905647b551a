import type { OutgoingMail } from './mail-outbox-repository.js'

/** The front-end pages a link opens; the token rides in the fragment, which no server or Referer ever sees. */
export type LinkPage = 'verify-email' | 'reset-password' | 'confirm-email'

export const linkUrl = (appUrl: string, page: LinkPage, token: string) => `${appUrl}/${page}#token=${token}`

const hours = (seconds: number) => {
  const value = Math.round(seconds / 360) / 10
  return value === 1 ? '1 hour' : `${value} hours`
}

const minutesOrHours = (seconds: number) => (seconds < 3600 ? `${Math.round(seconds / 60)} minutes` : hours(seconds))

const lines = (...parts: string[]) => `${parts.join('\n')}\n`

const IGNORE = 'If you did not ask for this, you can ignore this mail.'

type Addressed = Pick<OutgoingMail, 'userId' | 'recipient'>

/**
 * Every mail the service sends, as plain text. Each mail that carries a link carries it exactly once, on a
 * line of its own, so mail clients make it clickable and tests can find it.
 */
export const mailTemplates = {
  verifyEmail(to: Addressed, link: string, ttlSeconds: number): OutgoingMail {
    return {
      ...to,
      kind: 'verify_email',
      subject: 'Confirm your email address',
      text: lines('Open this link to confirm that this address is yours:', '', link, '', `It works once, for ${minutesOrHours(ttlSeconds)}. ${IGNORE}`),
    }
  },

  passwordReset(to: Addressed, link: string, ttlSeconds: number): OutgoingMail {
    return {
      ...to,
      kind: 'password_reset',
      subject: 'Reset your password',
      text: lines(
        'Someone asked to reset the password of the account with this address. Open this link to choose a new one:',
        '',
        link,
        '',
        `It works once, for ${minutesOrHours(ttlSeconds)}. Choosing a new password signs you out everywhere. ${IGNORE}`,
      ),
    }
  },

  passwordChanged(to: Addressed): OutgoingMail {
    return {
      ...to,
      kind: 'password_changed',
      subject: 'Your password was changed',
      text: lines(
        'The password of your account was just changed, and every device signed in to it was signed out.',
        '',
        'If this was not you, reset your password at once with "Forgot password" and check your account.',
      ),
    }
  },

  confirmEmailChange(to: Addressed, link: string, ttlSeconds: number): OutgoingMail {
    return {
      ...to,
      kind: 'email_change_confirm',
      subject: 'Confirm your new email address',
      text: lines('Open this link to make this the address of your account:', '', link, '', `It works once, for ${minutesOrHours(ttlSeconds)}. ${IGNORE}`),
    }
  },

  emailChangeRequested(to: Addressed, newEmail: string): OutgoingMail {
    return {
      ...to,
      kind: 'email_change_notice',
      subject: 'Your email address is about to change',
      text: lines(
        `Someone signed in to your account asked to change its address to ${newEmail}. It changes once that address confirms.`,
        '',
        'If this was not you, change your password now: that also signs out every device.',
      ),
    }
  },

  reuseDetected(to: Addressed, device: string): OutgoingMail {
    return {
      ...to,
      kind: 'refresh_reuse_detected',
      subject: 'We signed out one of your devices',
      text: lines(
        `Your sign-in on ${device} was ended because one of its refresh tokens was used twice. That happens when`,
        'someone copied it, or, rarely, when an app retries badly. Sign in again on that device.',
        '',
        'If you do not recognise this, change your password: that signs out every device.',
      ),
    }
  },

  newSignIn(to: Addressed, device: string, ip: string, at: Date): OutgoingMail {
    return {
      ...to,
      kind: 'new_sign_in',
      subject: `New sign-in from ${device}`,
      text: lines(
        `Your account was signed in to from ${device} (address ${ip}) at ${at.toISOString()}.`,
        '',
        'If this was you, there is nothing to do. If not, change your password: that signs out every device.',
      ),
    }
  },
}
