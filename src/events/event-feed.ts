import { ProblemError } from '../errors/problem.js'
import type { AccountEvent, AuthEvent, AuthEventRepository, EventFilter } from './auth-event-repository.js'

export interface EventPage {
  items: AuthEvent[]
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null
}

const CURSOR_PREFIX = 'e1.'

/**
 * Opaque to clients: a version tag and the id of the last event of the page. Ids only grow, so "older
 * than this id" is stable while events are being added: pages neither repeat nor skip an event that
 * existed when the first page was read.
 */
export const encodeCursor = (id: bigint) => Buffer.from(`${CURSOR_PREFIX}${id}`).toString('base64url')

export function decodeCursor(cursor: string): bigint {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : ''
  const digits = text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : ''
  if (!/^[1-9]\d{0,19}$/.test(digits)) {
    throw new ProblemError('validation_failed', 'querystring.cursor: is not a cursor this API handed out', {
      errors: [{ path: 'querystring.cursor', message: 'is not a cursor this API handed out' }],
    })
  }
  return BigInt(digits)
}

/** A page of up to `limit` rows from `read` (asked for one more: whether there is a next page, without a count). */
async function pageOf<T extends AuthEvent>(
  page: { cursor?: string; limit: number },
  read: (beforeId: bigint | undefined, limit: number) => Promise<T[]>,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const rows = await read(page.cursor === undefined ? undefined : decodeCursor(page.cursor), page.limit + 1)
  const items = rows.slice(0, page.limit)
  const last = items.at(-1)
  return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : null }
}

/** Security events newest first, a page at a time: a user's own, or (for admins) everyone's. */
export function createEventFeed(deps: { events: Pick<AuthEventRepository, 'listForUser' | 'listAll'> }) {
  return {
    forUser(userId: string, page: { cursor?: string; limit: number }): Promise<EventPage> {
      return pageOf(page, (beforeId, limit) => deps.events.listForUser(userId, { beforeId, limit }))
    },

    forAdmin(filter: EventFilter, page: { cursor?: string; limit: number }): Promise<{ items: AccountEvent[]; nextCursor: string | null }> {
      return pageOf(page, (beforeId, limit) => deps.events.listAll(filter, { beforeId, limit }))
    },
  }
}

export type EventFeed = ReturnType<typeof createEventFeed>
