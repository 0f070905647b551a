import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { problemResponses } from '../errors/problem.js'
import { callerOf } from '../http/caller.js'
import { noStore } from '../plugins/security.js'
import {
  endSessionsQuerySchema,
  eventBody,
  sessionBody,
  eventPageSchema,
  eventsQuerySchema,
  sessionListSchema,
  sessionParamsSchema,
} from '../sessions/session-schemas.js'

const BEARER_PROBLEMS = ['token_missing', 'token_invalid', 'token_expired'] as const

/** "Where you're signed in" and "Account activity": the caller's own sessions and security events. */
const sessionRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', noStore)
  app.addHook('onRequest', app.authenticate)

  const security = [{ bearerAuth: [] }]

  app.get('/me/sessions', {
    schema: {
      tags: ['sessions'],
      summary: 'The live sessions (logins) of the user, most recently used first',
      security,
      response: { 200: sessionListSchema, ...problemResponses({ 401: BEARER_PROBLEMS, 500: ['internal_error'], 503: ['service_unavailable'] }) },
    },
    handler: async (request) => ({ items: (await app.sessions.list(request.user.sub, request.user.sid)).map(sessionBody) }),
  })

  app.delete('/me/sessions/:id', {
    schema: {
      tags: ['sessions'],
      summary: 'End one session: its refresh token stops working at once',
      description: 'An access token already issued to that session stays valid until it expires (ACCESS_TOKEN_TTL_SECONDS).',
      security,
      params: sessionParamsSchema,
      response: {
        204: z.null().meta({ description: 'Ended; its refresh tokens answer 401 token_revoked' }),
        ...problemResponses({ 400: ['validation_failed'], 401: BEARER_PROBLEMS, 404: ['not_found'], 500: ['internal_error'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request, reply) => {
      await app.sessions.end(request.user.sub, request.params.id, callerOf(request))
      return reply.code(204).send(null)
    },
  })

  app.delete('/me/sessions', {
    schema: {
      tags: ['sessions'],
      summary: 'End every session of the user but the one making this request',
      security,
      querystring: endSessionsQuerySchema,
      response: {
        204: z.null().meta({ description: 'Every other session is ended' }),
        ...problemResponses({ 400: ['validation_failed'], 401: BEARER_PROBLEMS, 500: ['internal_error'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request, reply) => {
      await app.sessions.endOthers(request.user.sub, request.user.sid, callerOf(request))
      return reply.code(204).send(null)
    },
  })

  app.get('/me/events', {
    schema: {
      tags: ['sessions'],
      summary: "The user's security events, newest first",
      security,
      querystring: eventsQuerySchema,
      response: {
        200: eventPageSchema,
        ...problemResponses({ 400: ['validation_failed'], 401: BEARER_PROBLEMS, 500: ['internal_error'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request) => {
      const page = await app.eventFeed.forUser(request.user.sub, request.query)
      return { items: page.items.map(eventBody), nextCursor: page.nextCursor }
    },
  })
}

export default sessionRoutes
