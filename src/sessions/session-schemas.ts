import { z } from 'zod'
import { AUTH_EVENT_TYPES, type AuthEvent } from '../events/auth-event-repository.js'
import type { LiveSession } from './session-repository.js'

/** A session as JSON: instants as ISO strings (the list of the user, and an admin's view of a user). */
export const sessionBody = <T extends LiveSession>(session: T) => ({
  ...session,
  createdAt: session.createdAt.toISOString(),
  lastUsedAt: session.lastUsedAt.toISOString(),
  expiresAt: session.expiresAt.toISOString(),
})

/** An event as JSON: the BIGINT id as a string, the instant as ISO. */
export const eventBody = <T extends AuthEvent>(event: T) => ({ ...event, id: event.id.toString(), at: event.at.toISOString() })

const instant = z.iso.datetime().meta({ example: '2026-12-01T09:00:00.000Z' })

export const sessionSchema = z
  .object({
    id: z.string().meta({ description: 'The session id: the `sid` claim of its access tokens', example: '0193a1c2-7b7e-7cc1-9d1e-2f0a5c1e7b10' }),
    device: z.string().meta({ description: 'Read from the User-Agent at login', example: 'Firefox 133 on macOS' }),
    userAgent: z.string().nullable().meta({ description: 'The User-Agent at login, at most 512 characters' }),
    ip: z.string().meta({ description: 'The client address at login (through TRUST_PROXY)', example: '192.0.2.10' }),
    createdAt: instant,
    lastUsedAt: instant.meta({ description: 'The last refresh, or the login' }),
    expiresAt: instant.meta({ description: 'When the login ends however it is used' }),
    rememberMe: z.boolean(),
    current: z.boolean().meta({ description: 'The session of the access token this request carried' }),
  })
  .meta({ id: 'Session' })

export const sessionListSchema = z.object({ items: z.array(sessionSchema) }).meta({ id: 'SessionList' })

export const sessionParamsSchema = z.strictObject({ id: z.string().min(1).max(64) })

export const endSessionsQuerySchema = z.strictObject({
  scope: z.literal('others').meta({ description: 'others: every session of the user but the caller\'s own' }),
})

export const eventsQuerySchema = z.strictObject({
  cursor: z.string().min(1).max(64).optional().meta({ description: 'nextCursor of the previous page' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
})

export const eventSchema = z
  .object({
    id: z.string().meta({ example: '1042' }),
    type: z.enum(AUTH_EVENT_TYPES),
    at: instant,
    ip: z.string().nullable(),
    device: z.string().nullable(),
    sessionId: z.string().nullable(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  })
  .meta({ id: 'AuthEvent' })

export const eventPageSchema = z
  .object({
    items: z.array(eventSchema),
    nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for older events; null on the last page' }),
  })
  .meta({ id: 'AuthEventPage' })
