import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { PublicUser } from '../account/account-service.js'
import {
  acceptedSchema,
  emailBodySchema,
  linkTokenBodySchema,
  passwordResetSchema,
  userSchema,
} from '../auth/auth-schemas.js'
import { BODY_PROBLEMS, problemResponses } from '../errors/problem.js'
import { callerOf } from '../http/caller.js'
import { noStore } from '../plugins/security.js'

const userBody = (user: PublicUser) => ({ ...user, createdAt: user.createdAt.toISOString() })

/** One answer for every address, so it tells nobody whether the address has an account. */
const ACCEPTED = {
  status: 'accepted' as const,
  detail: 'If an account uses this address, a mail is on its way. It can take a few minutes; check the spam folder too.',
}

const LINK_PROBLEMS = { ...BODY_PROBLEMS, 400: ['validation_failed', 'link_invalid', 'link_expired'] } as const

/**
 * The routes a mailed link leads to, and the two that send one to an address. Links are consumed by a
 * POST from the front-end page the link opens, never by a GET: a mail scanner that follows links cannot
 * use one up. Registered inside the /auth rate-limit budget.
 */
const accountRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', noStore)

  app.post('/auth/verify-email', {
    schema: {
      tags: ['account'],
      summary: 'Confirm the address with the token of a verification link',
      body: linkTokenBodySchema,
      response: {
        200: userSchema,
        ...problemResponses({ ...LINK_PROBLEMS, 429: ['rate_limited'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request) => userBody(await app.accounts.verifyEmail(request.body.token, callerOf(request))),
  })

  app.post('/auth/verify-email/resend', {
    schema: {
      tags: ['account'],
      summary: 'Mail a new verification link (the same answer for every address)',
      body: emailBodySchema,
      response: {
        202: acceptedSchema,
        ...problemResponses({ ...BODY_PROBLEMS, 429: ['rate_limited'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request, reply) => {
      await app.accounts.resendVerification(request.body.email)
      return reply.code(202).send(ACCEPTED)
    },
  })

  app.post('/auth/password/forgot', {
    schema: {
      tags: ['account'],
      summary: 'Mail a password reset link (the same answer for every address)',
      body: emailBodySchema,
      response: {
        202: acceptedSchema,
        ...problemResponses({ ...BODY_PROBLEMS, 429: ['rate_limited'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request, reply) => {
      await app.accounts.forgotPassword(request.body.email, callerOf(request))
      return reply.code(202).send(ACCEPTED)
    },
  })

  app.post('/auth/password/reset', {
    config: { passwordField: 'body.newPassword' },
    schema: {
      tags: ['account'],
      summary: 'Set a new password with the token of a reset link; ends every login of the user',
      body: passwordResetSchema,
      response: {
        204: z.null().meta({ description: 'Changed. Every refresh token of the user is revoked; log in with the new password.' }),
        ...problemResponses({ ...LINK_PROBLEMS, 429: ['rate_limited'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request, reply) => {
      await app.accounts.resetPassword({ ...request.body, caller: callerOf(request) })
      return reply.code(204).send(null)
    },
  })

  app.post('/auth/email/confirm', {
    schema: {
      tags: ['account'],
      summary: 'Move the account to the new address with the token of an email-change link',
      body: linkTokenBodySchema,
      response: {
        200: userSchema,
        ...problemResponses({ ...LINK_PROBLEMS, 409: ['email_taken'], 429: ['rate_limited'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request) => userBody(await app.accounts.confirmEmailChange(request.body.token, callerOf(request))),
  })
}

export default accountRoutes
