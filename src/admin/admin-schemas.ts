import { z } from 'zod'
import { AUTH_EVENT_TYPES } from '../events/auth-event-repository.js'
import { eventSchema, eventsQuerySchema, sessionSchema } from '../sessions/session-schemas.js'

const instant = z.iso.datetime().meta({ example: '2026-12-01T09:00:00.000Z' })
const role = z.enum(['user', 'admin'])

export const adminUserSchema = z
  .object({
    id: z.string().meta({ example: '0193a1c2-7b7e-7cc1-9d1e-2f0a5c1e7b10' }),
    email: z.string().meta({ example: 'ada@example.com' }),
    role,
    emailVerified: z.boolean(),
    disabled: z.boolean(),
    disabledAt: instant.nullable(),
    disabledReason: z.string().nullable(),
    createdAt: instant,
    lastLoginAt: instant.nullable().meta({ description: 'The last successful login; null if none within AUTH_EVENT_RETENTION_DAYS (it is read from the event log)' }),
    sessions: z.number().int().meta({ description: 'How many live sessions the user has now' }),
  })
  .meta({ id: 'AdminUser' })

export const adminUserPageSchema = z
  .object({
    items: z.array(adminUserSchema),
    nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }),
  })
  .meta({ id: 'AdminUserPage' })

export const adminUserDetailSchema = adminUserSchema
  .extend({ liveSessions: z.array(sessionSchema.omit({ current: true })) })
  .meta({ id: 'AdminUserDetail' })

export const adminUsersQuerySchema = z.strictObject({
  query: z.string().trim().min(1).max(254).optional().meta({ description: 'The start of the email address, any case' }),
  cursor: z.string().min(1).max(400).optional().meta({ description: 'nextCursor of the previous page' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
})

export const adminUserParamsSchema = z.strictObject({ id: z.string().min(1).max(64) })

export const adminUserPatchSchema = z
  .strictObject({
    role: role.optional(),
    disabled: z.boolean().optional(),
    disabledReason: z.string().trim().min(1).max(200).optional().meta({ description: 'Kept with a disabled account; shown to admins only' }),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'send at least one of role, disabled, disabledReason' })
  .refine((patch) => patch.disabledReason === undefined || patch.disabled !== false, {
    message: 'disabledReason goes with disabled: true',
    path: ['disabledReason'],
  })
  .meta({ id: 'AdminUserPatch' })

export const adminEventsQuerySchema = eventsQuerySchema.extend({
  userId: z.string().min(1).max(64).optional(),
  type: z.enum(AUTH_EVENT_TYPES).optional(),
})

export const adminEventPageSchema = z
  .object({
    items: z.array(eventSchema.extend({ userId: z.string().nullable() }).meta({ id: 'AccountEvent' })),
    nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for older events; null on the last page' }),
  })
  .meta({ id: 'AccountEventPage' })
