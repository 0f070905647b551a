import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { meSchema, passwordChangeSchema } from '../auth/auth-schemas.js'
import { BODY_PROBLEMS, problemResponses } from '../errors/problem.js'
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
      const { sub, email, role } = request.user
      return { id: sub, email, role }
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
      await app.auth.changePassword({ userId: request.user.sub, currentPassword, newPassword, ip: request.ip })
      return reply.code(204).send(null)
    },
  })
}

export default meRoutes
