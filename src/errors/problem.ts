import { z } from 'zod'

/** Every error this API answers with, keyed by the stable `code` clients switch on. */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_credentials: { status: 401, title: 'Email or password is wrong' },
  token_missing: { status: 401, title: 'No token was sent' },
  token_invalid: { status: 401, title: 'The token is not valid' },
  token_expired: { status: 401, title: 'The token has expired' },
  token_revoked: { status: 401, title: 'The token has been revoked' },
  token_reused: { status: 401, title: 'The refresh token was already used' },
  csrf_failed: { status: 403, title: 'Cross-site request refused' },
  not_found: { status: 404, title: 'Not found' },
  email_taken: { status: 409, title: 'The email is already registered' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be JSON' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>

export type ProblemCode = keyof typeof PROBLEMS

export interface FieldError {
  path: string
  message: string
}

/** RFC 9457 problem details, as sent with `Content-Type: application/problem+json`. */
export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: ProblemCode
  errors?: FieldError[]
}

export const problemType = (code: ProblemCode) => `/problems/${code}`

/** A failure the client can act on; the error handler turns it into a problem response. */
export class ProblemError extends Error {
  readonly status: number

  constructor(
    readonly code: ProblemCode,
    readonly detail: string = PROBLEMS[code].title,
    readonly extras: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail)
    this.name = 'ProblemError'
    this.status = PROBLEMS[code].status
  }

  toBody(): ProblemBody {
    const body: ProblemBody = {
      type: problemType(this.code),
      title: PROBLEMS[this.code].title,
      status: this.status,
      detail: this.detail,
      code: this.code,
    }
    if (this.extras.errors) body.errors = this.extras.errors
    return body
  }
}

export const problemSchema = z
  .object({
    type: z.string().describe('A URI reference naming the problem type'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' })
