import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  adminEventPageSchema,
  adminEventsQuerySchema,
  adminUserDetailSchema,
  adminUserPageSchema,
  adminUserSchema,
  adminUserParamsSchema,
  adminUserPatchSchema,
  adminUsersQuerySchema,
} from '../admin/admin-schemas.js'
import type { Actor, AdminUser } from '../admin/admin-service.js'
import { BODY_PROBLEMS, problemResponses } from '../errors/problem.js'
import { callerOf } from '../http/caller.js'
import authRateLimit from '../plugins/auth-rate-limit.js'
import { noStore } from '../plugins/security.js'
import { eventBody, sessionBody } from '../sessions/session-schemas.js'

const ADMIN_PROBLEMS = {
  401: ['token_missing', 'token_invalid', 'token_expired'],
  403: ['forbidden'],
  429: ['rate_limited'],
  500: ['internal_error'],
  503: ['service_unavailable'],
} as const

const iso = (date: Date | null) => date?.toISOString() ?? null

const userBody = (user: AdminUser) => ({
  ...user,
  disabledAt: iso(user.disabledAt),
  createdAt: user.createdAt.toISOString(),
  lastLoginAt: iso(user.lastLoginAt),
})

const actorOf = (request: FastifyRequest): Actor => ({ kind: 'admin', id: request.user.sub, caller: callerOf(request) })

/**
 * The admin API, in a context of its own: its own request budget, and a guard that re-reads the
 * caller's role and status in the database on every request (the token's `role` claim alone is not
 * trusted here: a demoted admin's token says admin until it expires).
 */
const adminRoutes: FastifyPluginAsyncZod<{ perMinute: number }> = async (app, options) => {
  await app.register(authRateLimit, { perMinute: options.perMinute, scope: 'admin' })
  app.addHook('onRequest', noStore)
  app.addHook('onRequest', app.authenticate)
  // Before validation: a non-admin learns nothing about what a valid admin request looks like.
  app.addHook('preValidation', async (request) => {
    await app.admin.authorize(request.user.sub, request.user.sid)
  })

  const common = { tags: ['admin'], security: [{ bearerAuth: [] }] }

  app.get('/admin/users', {
    schema: {
      ...common,
      summary: 'Find users by the start of their email, in email order',
      querystring: adminUsersQuerySchema,
      response: { 200: adminUserPageSchema, ...problemResponses({ 400: ['validation_failed'], ...ADMIN_PROBLEMS }) },
    },
    handler: async (request) => {
      const page = await app.admin.listUsers(request.query)
      return { items: page.items.map(userBody), nextCursor: page.nextCursor }
    },
  })

  app.get('/admin/users/:id', {
    schema: {
      ...common,
      summary: 'One user, with their live sessions',
      params: adminUserParamsSchema,
      response: { 200: adminUserDetailSchema, ...problemResponses({ 400: ['validation_failed'], ...ADMIN_PROBLEMS, 404: ['not_found'] }) },
    },
    handler: async (request) => {
      const user = await app.admin.getUser(request.params.id)
      return { ...userBody(user), liveSessions: user.liveSessions.map(sessionBody) }
    },
  })

  app.patch('/admin/users/:id', {
    schema: {
      ...common,
      summary: 'Change a role, or disable or enable the account',
      description:
        'Disabling ends every session of the user in the same transaction (their refresh tokens answer 401 token_revoked) and refuses ' +
        'their logins (403 account_disabled). Access tokens already issued stay valid until they expire. Enabling does not bring sessions ' +
        'back. A role change reaches the user at their next refresh, and admin routes at once.',
      params: adminUserParamsSchema,
      body: adminUserPatchSchema,
      response: {
        200: adminUserSchema,
        ...problemResponses({ ...BODY_PROBLEMS, ...ADMIN_PROBLEMS, 404: ['not_found'], 409: ['last_admin'] }),
      },
    },
    handler: async (request) => userBody(await app.admin.updateUser(actorOf(request), request.params.id, request.body)),
  })

  app.post('/admin/users/:id/sessions/revoke', {
    schema: {
      ...common,
      summary: 'End every session of the user',
      description: 'Their refresh tokens answer 401 token_revoked at once; access tokens already issued live until they expire.',
      params: adminUserParamsSchema,
      response: {
        204: z.null().meta({ description: 'Every session of the user is ended' }),
        ...problemResponses({ 400: ['validation_failed'], ...ADMIN_PROBLEMS, 404: ['not_found'] }),
      },
    },
    handler: async (request, reply) => {
      await app.admin.revokeSessions(actorOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  })

  app.delete('/admin/users/:id', {
    schema: {
      ...common,
      summary: 'Delete the account and everything that belongs to it',
      params: adminUserParamsSchema,
      response: {
        204: z.null().meta({ description: 'Deleted' }),
        ...problemResponses({ 400: ['validation_failed'], ...ADMIN_PROBLEMS, 404: ['not_found'], 409: ['last_admin'] }),
      },
    },
    handler: async (request, reply) => {
      await app.admin.deleteUser(actorOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  })

  app.get('/admin/events', {
    schema: {
      ...common,
      summary: 'Security events of every user, newest first; filter by user and type',
      querystring: adminEventsQuerySchema,
      response: { 200: adminEventPageSchema, ...problemResponses({ 400: ['validation_failed'], ...ADMIN_PROBLEMS }) },
    },
    handler: async (request) => {
      const { userId, type, cursor, limit } = request.query
      const page = await app.eventFeed.forAdmin({ userId, type }, { cursor, limit })
      return { items: page.items.map(eventBody), nextCursor: page.nextCursor }
    },
  })
}

export default adminRoutes
