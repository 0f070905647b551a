import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { finishDocument } from '../openapi/finish-document.js'

const OPENAPI_INFO = {
  title: 'JWT Auth API',
  version: '0.1.0',
  description:
    'Stateless JWT authentication: short-lived access tokens verified without a database, rotating refresh ' +
    'tokens with reuse detection, revocation through a denylist. Every error is RFC 9457 application/problem+json.',
}

/** The OpenAPI 3.1 document, generated from the route schemas, at /openapi.json, with Swagger UI at /docs. */
async function openapi(app: FastifyInstance) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      tags: [
        { name: 'auth', description: 'Register, log in, refresh, log out' },
        { name: 'account', description: 'The current user' },
        { name: 'sessions', description: "The user's own sessions and security events" },
        { name: 'admin', description: 'For enabled admins only: users, their sessions, every security event' },
        { name: 'keys', description: 'Verification keys' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token (typ at+jwt)' },
          refreshCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'refresh_token',
            description: 'HttpOnly refresh token cookie set by cookie-transport login (Path=/auth)',
          },
          csrfHeader: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Requested-With',
            description: 'Must be XMLHttpRequest whenever the refresh_token cookie is used',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => finishDocument(jsonSchemaTransformObject(input)),
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(openapi, { name: 'openapi' })
