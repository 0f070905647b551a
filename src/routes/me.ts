import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { meSchema } from '../auth/auth-schemas.js'
import { problemResponses } from '../errors/problem.js'

const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/me', {
    onRequest: [app.authenticate],
    schema: {
      tags: ['account'],
      summary: 'The current user, read from the access token (no database call)',
      security: [{ bearerAuth: [] }],
      response: {
        200: meSchema,
        ...problemResponses({ 401: ['token_missing', 'token_invalid', 'token_expired'], 500: ['internal_error'] }),
      },
    },
    handler: async (request) => {
      const { sub, email, role } = request.user
      return { id: sub, email, role }
    },
  })
}

export default meRoutes
