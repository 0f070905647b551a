import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { AuthEventRepository, NewAuthEvent } from './auth-event-repository.js'

export interface DetachedEventWriterOptions {
  events: Pick<AuthEventRepository, 'record'>
  log: FastifyBaseLogger
  clock: Clock
  /** Writes in flight at most; more are dropped (and counted) rather than queued behind a slow database. */
  maxInFlight: number
  /** Keys remembered for `once`; when full, the oldest go first. */
  maxKeys?: number
}

/**
 * Writes the events that have no transaction to ride in (a failed or throttled login): the response does
 * not wait for them, and a failed write is logged, never the request's failure. What bounds the writes
 * is the login throttle (failures per account and address), `once` (one event per key and window for
 * refusals, which the throttle does not bound), and `maxInFlight` against a database that stalls.
 */
export function createDetachedEventWriter(options: DetachedEventWriterOptions) {
  const { events, log, clock, maxInFlight, maxKeys = 10_000 } = options
  const pending = new Set<Promise<void>>()
  const seenUntil = new Map<string, number>()
  let dropped = 0

  function write(event: NewAuthEvent): void {
    if (pending.size >= maxInFlight) {
      // Logged on the first drop and every 1000th after it: the log must not become the flood instead.
      if (dropped++ % 1000 === 0) log.warn({ type: event.type, dropped }, 'security event dropped: too many writes in flight')
      return
    }
    const work = events.record(event).catch((error: unknown) => {
      log.error({ err: error, type: event.type, userId: event.userId }, 'security event could not be written')
    })
    pending.add(work)
    void work.finally(() => pending.delete(work))
  }

  return {
    write,

    /** Writes `event` unless one with `key` was written less than `windowMs` ago (in this process). */
    once(key: string, windowMs: number, event: NewAuthEvent): void {
      const now = clock.now()
      const until = seenUntil.get(key)
      if (until !== undefined && until > now) return
      seenUntil.delete(key)
      if (seenUntil.size >= maxKeys) {
        const oldest = seenUntil.keys().next().value
        if (oldest !== undefined) seenUntil.delete(oldest)
      }
      seenUntil.set(key, now + windowMs)
      write(event)
    },

    /** Resolves once every write started so far has finished (tests; closing the app). */
    async settled(): Promise<void> {
      while (pending.size > 0) await Promise.all(pending)
    },

    get dropped() {
      return dropped
    },
  }
}

export type DetachedEventWriter = ReturnType<typeof createDetachedEventWriter>
