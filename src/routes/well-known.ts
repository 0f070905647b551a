import type { JsonWebKey } from 'node:crypto'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'

const jwkSchema = z
  .looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.literal('sig') })
  .meta({ id: 'JsonWebKey' })

const wellKnownRoutes: FastifyPluginAsyncZod<{ jwks: { keys: JsonWebKey[] }; maxAgeSeconds: number }> = async (app, options) => {
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['keys'],
      summary: 'Public keys that verify this API’s tokens (RFC 7517 JWK Set)',
      response: { 200: z.object({ keys: z.array(jwkSchema) }) },
    },
    handler: async (_request, reply) => {
      // Resource servers and CDNs may keep the set this long: the rotation runbook publishes a new key at
      // least this long before it signs.
      reply.header('cache-control', `public, max-age=${options.maxAgeSeconds}`)
      return options.jwks as { keys: z.infer<typeof jwkSchema>[] }
    },
  })
}

export default wellKnownRoutes
