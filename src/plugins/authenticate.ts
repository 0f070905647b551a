import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { PROBLEMS, ProblemError } from '../errors/problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for Bearer routes: verifies the access token (no database) into request.user. */
    authenticate: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  }
}

const REALM = 'jwt-auth-api'
// No token we issue comes near this; a bigger header is refused before anything looks inside it.
const MAX_AUTHORIZATION_LENGTH = 8 * 1024

/** RFC 6750 §3: a missing token gets a bare challenge, a bad one says invalid_token. */
function challenge(problem: ProblemError): ProblemError {
  const header =
    problem.code === 'token_missing'
      ? `Bearer realm="${REALM}"`
      : `Bearer realm="${REALM}", error="invalid_token", error_description="${PROBLEMS[problem.code].title}"`
  return new ProblemError(problem.code, problem.detail, { wwwAuthenticate: header })
}

async function authenticate(app: FastifyInstance) {
  const { verifier } = app.tokens

  const fail = (done: HookHandlerDoneFunction, error: unknown) =>
    done(error instanceof ProblemError && error.status === 401 ? challenge(error) : (error as Error))

  // Callback style on purpose: this runs on every protected request. A token seen before is answered from
  // the cache synchronously, with no promise; only a new token waits for its signature check.
  function authenticateRequest(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const raw = request.headers.authorization
    let token: string
    try {
      if (raw !== undefined && raw.length > MAX_AUTHORIZATION_LENGTH) {
        throw new ProblemError('token_invalid', 'The Authorization header is larger than 8 KB')
      }
      const header = raw?.trim()
      if (header === undefined || header === '' || header.toLowerCase() === 'bearer') {
        throw new ProblemError('token_missing', 'Send the access token as: Authorization: Bearer <token>')
      }
      if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') {
        throw new ProblemError('token_invalid', 'The Authorization header must be: Bearer <token>')
      }
      token = header.slice(7).trim()
      const cached = verifier.cachedAccess(token)
      if (cached) {
        request.user = cached
        done()
        return
      }
    } catch (error) {
      fail(done, error)
      return
    }
    verifier.verifyAccess(token).then(
      (claims) => {
        request.user = claims
        done()
      },
      (error: unknown) => fail(done, error),
    )
  }

  app.decorate('authenticate', authenticateRequest)
}

export default fp(authenticate, { name: 'authenticate', dependencies: ['tokens'] })
