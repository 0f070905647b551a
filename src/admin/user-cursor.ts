import { ProblemError } from '../errors/problem.js'

const CURSOR_PREFIX = 'u1.'

/**
 * Opaque to clients: a version tag and the email of the last user of the page. Users are listed in email
 * order and emails are unique, so "after this email" neither repeats nor skips a user that existed when
 * the first page was read.
 */
export const encodeUserCursor = (email: string) => Buffer.from(`${CURSOR_PREFIX}${email}`).toString('base64url')

export function decodeUserCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : ''
  const email = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : ''
  if (email.length === 0 || email.length > 254) {
    throw new ProblemError('validation_failed', 'querystring.cursor: is not a cursor this API handed out', {
      errors: [{ path: 'querystring.cursor', message: 'is not a cursor this API handed out' }],
    })
  }
  return email
}
