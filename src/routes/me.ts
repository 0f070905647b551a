import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { meSchema, problemResponses } from '../auth/auth-schemas.js'

const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/me', {
    onRequest: [app.authenticate],
    schema: {
      tags: ['account'],
      summary: 'The current user, read from the access token (no database call)',
      security: [{ bearerAuth: [] }],
      response: { 200: meSchema, ...problemResponses(401) },
    },
    handler: async (request) => {
      const { sub, email, role } = request.user
      return { id: sub, email, role }
    },
  })
}

export default meRoutes
