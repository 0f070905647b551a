import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Session } from '../auth/auth-service.js'
import { credentialsSchema, loginSchema, refreshTokenBodySchema, tokenResponseSchema, userSchema } from '../auth/auth-schemas.js'
import { BODY_PROBLEMS, ProblemError, problemResponses } from '../errors/problem.js'
import { callerOf } from '../http/caller.js'
import { noStore } from '../plugins/security.js'

const REFRESH_COOKIE = 'refresh_token'
const CSRF_HEADER = 'x-requested-with'
const CSRF_VALUE = 'XMLHttpRequest'

export interface AuthRoutesOptions {
  cookieSecure: boolean
}

type TokenSource = { token: string; from: 'body' | 'cookie' }

// Either the cookie with the CSRF header, or no scheme at all (the token travels in the body).
const refreshSecurity: { [name: string]: string[] }[] = [{ refreshCookie: [], csrfHeader: [] }, {}]

/** How many refresh_token cookies the request carries; @fastify/cookie keeps only the first. */
function refreshCookieCount(header: string | undefined): number {
  if (!header) return 0
  return header.split(';').filter((pair) => pair.trimStart().startsWith(`${REFRESH_COOKIE}=`)).length
}

const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, options) => {
  app.addHook('onRequest', noStore)

  const cookieBase: CookieSerializeOptions = {
    httpOnly: true,
    secure: options.cookieSecure,
    sameSite: 'strict',
    // Sent only to /auth/*: never to pages, never with ordinary API calls.
    path: '/auth',
  }

  function sendSession(reply: FastifyReply, session: Session, transport: 'body' | 'cookie') {
    if (transport === 'cookie') {
      reply.setCookie(REFRESH_COOKIE, session.refreshToken, {
        ...cookieBase,
        // A session cookie dies with the browser; remember-me keeps it until the login expires.
        maxAge: session.rememberMe ? session.refreshExpiresIn : undefined,
      })
    }
    return reply.send({
      tokenType: 'Bearer' as const,
      accessToken: session.accessToken,
      expiresIn: session.expiresIn,
      refreshToken: transport === 'body' ? session.refreshToken : undefined,
      refreshExpiresIn: session.refreshExpiresIn,
    })
  }

  /**
   * The body wins; otherwise the cookie, which a browser attaches by itself. Custom headers cannot be
   * sent cross-site without a CORS preflight we would refuse, so X-Requested-With proves the caller is
   * our own script and not a forged form post. Checked before the token is touched.
   */
  function refreshTokenOf(request: FastifyRequest, body: z.infer<typeof refreshTokenBodySchema>): TokenSource {
    if (body?.refreshToken) return { token: body.refreshToken, from: 'body' }
    const cookie = request.cookies[REFRESH_COOKIE]
    if (!cookie) throw new ProblemError('token_missing', 'Send the refresh token in the body or the refresh_token cookie')
    // A sibling subdomain can plant a second refresh_token (Domain=parent) that sorts first; which one is
    // ours cannot be told, so neither is used.
    if (refreshCookieCount(request.headers.cookie) > 1) {
      throw new ProblemError('token_invalid', 'More than one refresh_token cookie was sent; log in again to replace them')
    }
    if (request.headers[CSRF_HEADER] !== CSRF_VALUE) {
      throw new ProblemError('csrf_failed', `Requests that use the refresh_token cookie must send X-Requested-With: ${CSRF_VALUE}`)
    }
    return { token: cookie, from: 'cookie' }
  }

  app.post('/auth/register', {
    config: { passwordField: 'body.password' },
    schema: {
      tags: ['auth'],
      summary: 'Create an account; a verification link is mailed to the address',
      body: credentialsSchema,
      response: {
        201: userSchema,
        ...problemResponses({ ...BODY_PROBLEMS, 409: ['email_taken'], 429: ['rate_limited'], 503: ['service_unavailable'] }),
      },
    },
    handler: async (request, reply) => {
      const user = await app.accounts.register(request.body)
      return reply.code(201).send({ ...user, createdAt: user.createdAt.toISOString() })
    },
  })

  app.post('/auth/login', {
    schema: {
      tags: ['auth'],
      summary: 'Log in: get an access token and a refresh token',
      body: loginSchema,
      response: {
        200: tokenResponseSchema,
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: ['invalid_credentials'],
          403: ['email_unverified', 'account_disabled'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      const { email, password, rememberMe, transport } = request.body
      const session = await app.auth.login({ email, password, rememberMe, caller: callerOf(request) })
      // A new login replaces the browser's previous one rather than leaving it alive (ASVS 7.2.4), unless
      // the browser holds several and we cannot tell which is its own.
      const previous = request.cookies[REFRESH_COOKIE]
      if (previous && refreshCookieCount(request.headers.cookie) === 1) await app.auth.logout(previous, callerOf(request)).catch(() => undefined)
      return sendSession(reply, session, transport)
    },
  })

  app.post('/auth/refresh', {
    schema: {
      tags: ['auth'],
      summary: 'Exchange a refresh token for a new pair (rotation)',
      security: refreshSecurity,
      body: refreshTokenBodySchema,
      response: {
        200: tokenResponseSchema,
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: ['token_missing', 'token_invalid', 'token_expired', 'token_revoked', 'token_reused'],
          403: ['csrf_failed'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      const { token, from } = refreshTokenOf(request, request.body)
      return sendSession(reply, await app.auth.refresh(token, callerOf(request)), from)
    },
  })

  app.post('/auth/logout', {
    schema: {
      tags: ['auth'],
      summary: 'End this login (revokes its refresh token family)',
      security: refreshSecurity,
      body: refreshTokenBodySchema,
      response: {
        204: z.null().meta({ description: 'Logged out; the refresh_token cookie is cleared' }),
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: ['token_missing', 'token_invalid'],
          403: ['csrf_failed'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      const { token } = refreshTokenOf(request, request.body)
      await app.auth.logout(token, callerOf(request))
      return reply.clearCookie(REFRESH_COOKIE, cookieBase).code(204).send(null)
    },
  })

  app.post('/auth/logout-all', {
    onRequest: [app.authenticate],
    schema: {
      tags: ['auth'],
      summary: 'End every login of this user so far',
      security: [{ bearerAuth: [] }],
      response: {
        204: z.null().meta({ description: 'Every refresh token issued so far is revoked' }),
        ...problemResponses({
          ...BODY_PROBLEMS,
          401: ['token_missing', 'token_invalid', 'token_expired'],
          429: ['rate_limited'],
          503: ['service_unavailable'],
        }),
      },
    },
    handler: async (request, reply) => {
      await app.auth.logoutAll(request.user.sub, request.user.sid, callerOf(request))
      return reply.clearCookie(REFRESH_COOKIE, cookieBase).code(204).send(null)
    },
  })
}

export default authRoutes
