import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { isDatabaseError } from '../db/prisma-errors.js'
import { WeakPasswordError } from '../auth/password-strength.js'
import { ProblemError, type FieldError, type ProblemCode } from '../errors/problem.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The request field a WeakPasswordError of this route is about, e.g. body.newPassword. */
    passwordField?: string
  }
}

// Fastify's own client errors, by code, in our vocabulary.
const FASTIFY_CODES: Record<string, [ProblemCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'The request body is larger than this API accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'Send the body as application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['validation_failed', 'The Content-Length header does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['validation_failed', 'The body is empty but Content-Type says it is JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['validation_failed', 'The body is not valid JSON'],
}

const BY_STATUS: Record<number, ProblemCode> = {
  401: 'token_invalid',
  404: 'not_found',
  405: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
}

interface ValidationIssue {
  instancePath?: string
  message?: string
  params?: { issue?: { path?: PropertyKey[] } }
}

function fieldErrors(validation: ValidationIssue[], context: string | undefined): FieldError[] {
  return validation.map((issue) => {
    const zodPath = issue.params?.issue?.path
    const path = zodPath ? zodPath.map(String).join('.') : (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.')
    return { path: [context, path].filter(Boolean).join('.') || (context ?? ''), message: issue.message ?? 'is invalid' }
  })
}

/** Maps anything thrown while handling a request to the one problem it should be shown as. */
function toProblem(error: unknown, request: FastifyRequest): ProblemError {
  if (error instanceof ProblemError) return error
  if (error instanceof WeakPasswordError) {
    const path = request.routeOptions.config.passwordField ?? 'body'
    return new ProblemError('validation_failed', `${path}: ${error.message}`, { errors: [{ path, message: error.message }] })
  }
  const fastifyError = error as Partial<FastifyError> & { validation?: ValidationIssue[] }

  if (Array.isArray(fastifyError.validation)) {
    const errors = fieldErrors(fastifyError.validation, fastifyError.validationContext)
    const summary = errors.map((item) => `${item.path || 'body'}: ${item.message}`).join('; ')
    return new ProblemError('validation_failed', summary || 'The request is not valid', { errors })
  }
  if (isDatabaseError(error)) {
    return new ProblemError('service_unavailable', 'The database is not reachable right now; retry shortly', {
      retryAfterSeconds: 2,
    })
  }

  const known = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined
  if (known) return new ProblemError(known[0], known[1])

  const status = fastifyError.statusCode ?? 500
  if (status >= 400 && status < 500) {
    // Includes the JSON parser's refusal of __proto__/constructor keys and malformed bodies; the message
    // is Fastify's, never a driver's or a stack trace.
    const code = BY_STATUS[status] ?? 'validation_failed'
    return new ProblemError(code, fastifyError.message ?? 'The request is not valid')
  }
  return new ProblemError('internal_error', 'Something went wrong on our side')
}

function sendProblem(reply: FastifyReply, problem: ProblemError): FastifyReply {
  // Serialized here, not by the route's response schema, so every error has the same shape.
  const { retryAfterSeconds, wwwAuthenticate } = problem.extras
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds))
  if (wwwAuthenticate !== undefined) reply.header('www-authenticate', wwwAuthenticate)
  return reply
    .code(problem.status)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(problem.toBody()))
}

async function errorHandler(app: FastifyInstance) {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(error, request)
    if (problem.code === 'service_unavailable') {
      // Expected during an outage, and many at once: one short line each, no stack.
      request.log.warn({ code: problem.code, cause: (error as Error).message?.split('\n')[0] }, 'request refused: service unavailable')
    } else if (problem.status >= 500) {
      request.log.error({ err: error, code: problem.code }, 'request failed')
    } else {
      request.log.info({ code: problem.code, detail: problem.detail }, 'request refused')
    }
    return sendProblem(reply, problem)
  })

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, new ProblemError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`)),
  )
}

export default fp(errorHandler, { name: 'error-handler' })
