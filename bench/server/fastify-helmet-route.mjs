// Bench-only route: GET /health/live's twin, with @fastify/helmet setting the security headers on every
// request, given the same options the API hands helmet once at start-up (src/plugins/security.ts). The
// "ceiling with @fastify/helmet" scenario runs it next to the ceiling, on the same server, to show what
// computing the headers per request would cost. Not part of the API: registered by bench/server/serve.mjs.
import fastifyHelmet from '@fastify/helmet'
import { HELMET_OPTIONS } from '../../dist/plugins/security.js'

/** @param {import('fastify').FastifyInstance} app */
export default async function fastifyHelmetRoute(app) {
  await app.register(fastifyHelmet, HELMET_OPTIONS)
  app.get('/bench/fastify-helmet/live', { schema: { hide: true } }, async () => ({ status: 'ok' }))
}
