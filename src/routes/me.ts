import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { acceptedSchema, accountDeletionSchema, emailChangeSchema, meSchema, passwordChangeSchema } from '../auth/auth-schemas.js'
import { BODY_PROBLEMS, problemResponses } from '../errors/problem.js'
import { callerOf } from '../http/caller.js'
import { noStore } from '../plugins/security.js'

const BEARER_PROBLEMS = { 401: ['token_missing', 'token_invalid', 'token_expired'] } as const

const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', noStore)

  app.get('/me', {
    onRequest: [app.authenticate],
    schema: {
      tags: ['account'],
      summary: 'The current user, read from the access token (no database call)',
      security: [{ bearerAuth: [] }],
      response: { 200: meSchema, ...problemResponses({ ...BEARER_PROBLEMS, 500: ['internal_error'] }) },
    },
    handler: async (request) => {
      const { sub, email, role, email_verified } = request.user
      return { id: sub, email, role, emailVerified: email_verified }
    },
  })

  app.post('/me/password', {
    onRequest: [app.authenticate],
    config: { passwordField: 'body.newPassword' },
    schema: {
      tags: ['account'],
      summary: 'Change the password; ends every login of the user (their refresh tokens are revoked)',
      security: [{ bearerAuth: [] }],
      body: passwordChangeSchema,
      response: {
        204: z.null().meta({ description: 'Changed. Every refresh token of the user is revoked: log in again.' }),
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: [...BEARER_PROBLEMS[401], 'token_revoked', 'invalid_credentials'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      const { currentPassword, newPassword } = request.body
      await app.accounts.changePassword({
        userId: request.user.sub,
        sessionId: request.user.sid,
        currentPassword,
        newPassword,
        caller: callerOf(request),
      })
      return reply.code(204).send(null)
    },
  })

  app.post('/me/email', {
    onRequest: [app.authenticate],
    schema: {
      tags: ['account'],
      summary: 'Change the address: a confirmation link goes to the new one, a notice to the current one',
      security: [{ bearerAuth: [] }],
      body: emailChangeSchema,
      response: {
        202: acceptedSchema,
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: [...BEARER_PROBLEMS[401], 'token_revoked', 'invalid_credentials'],
          409: ['email_taken'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      const { newEmail, currentPassword } = request.body
      await app.accounts.requestEmailChange({
        userId: request.user.sub,
        sessionId: request.user.sid,
        newEmail,
        currentPassword,
        caller: callerOf(request),
      })
      return reply.code(202).send({ status: 'accepted' as const, detail: 'Open the link mailed to the new address to confirm it.' })
    },
  })

  app.delete('/me', {
    onRequest: [app.authenticate],
    schema: {
      tags: ['account'],
      summary: 'Delete the account and everything that belongs to it; its refresh tokens stop working at once',
      security: [{ bearerAuth: [] }],
      body: accountDeletionSchema,
      response: {
        204: z.null().meta({ description: 'Deleted. Access tokens already issued stay valid until they expire.' }),
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: [...BEARER_PROBLEMS[401], 'token_revoked', 'invalid_credentials'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      await app.accounts.deleteAccount({ userId: request.user.sub, password: request.body.password, caller: callerOf(request) })
      return reply.code(204).send(null)
    },
  })
}

export default meRoutes
