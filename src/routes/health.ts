import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { SchemaBehindError } from '../db/prisma.js'
import { ProblemError, problemResponses } from '../errors/problem.js'

const status = z.object({ status: z.literal('ok') })

export interface HealthOptions {
  /** Resolves when the database answers a trivial query. */
  checkDatabaseReady: () => Promise<void>
}

const healthRoutes: FastifyPluginAsyncZod<HealthOptions> = async (app, options) => {
  app.get('/health/live', {
    schema: { tags: ['health'], summary: 'The process is up', response: { 200: status } },
    handler: async () => ({ status: 'ok' as const }),
  })

  app.get('/health/ready', {
    schema: {
      tags: ['health'],
      summary: 'The process can serve every route: the database answers and is migrated',
      response: {
        200: status.extend({ database: z.literal('up') }),
        ...problemResponses({ 500: ['internal_error'], 503: ['service_unavailable'] }),
      },
    },
    handler: async () => {
      try {
        await options.checkDatabaseReady()
      } catch (error) {
        const detail = error instanceof SchemaBehindError ? 'The database is not migrated yet' : 'The database is not reachable'
        throw new ProblemError('service_unavailable', detail, { retryAfterSeconds: 2 })
      }
      return { status: 'ok' as const, database: 'up' as const }
    },
  })
}

export default healthRoutes
