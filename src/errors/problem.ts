import { z } from 'zod'

/** Every error this API answers with, keyed by the stable `code` clients switch on. */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  link_invalid: { status: 400, title: 'The link is not valid' },
  link_expired: { status: 400, title: 'The link has expired' },
  invalid_credentials: { status: 401, title: 'Email or password is wrong' },
  token_missing: { status: 401, title: 'No token was sent' },
  token_invalid: { status: 401, title: 'The token is not valid' },
  token_expired: { status: 401, title: 'The token has expired' },
  token_revoked: { status: 401, title: 'The token has been revoked' },
  token_reused: { status: 401, title: 'The refresh token was already used' },
  csrf_failed: { status: 403, title: 'Cross-site request refused' },
  email_unverified: { status: 403, title: 'The email address is not verified' },
  account_disabled: { status: 403, title: 'The account is disabled' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  email_taken: { status: 409, title: 'The email is already registered' },
  last_admin: { status: 409, title: 'This would leave no enabled admin' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  header_too_large: { status: 431, title: 'The request headers are too large' },
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

const problemType = (code: ProblemCode) => `/problems/${code}`

/** A failure the client can act on; the error handler turns it into a problem response. */
export class ProblemError extends Error {
  readonly status: number

  constructor(
    readonly code: ProblemCode,
    readonly detail: string = PROBLEMS[code].title,
    readonly extras: {
      errors?: FieldError[]
      /** Sent as Retry-After by the error handler (429, 503). */
      retryAfterSeconds?: number
      /** Sent as WWW-Authenticate by the error handler (401 of a Bearer route). */
      wwwAuthenticate?: string
    } = {},
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

const fieldErrorSchema = z.object({
  path: z.string().meta({ description: 'Where: body.<field>, querystring, headers...' }),
  message: z.string(),
})

/** The problem body a status can carry, listing exactly the codes it can have. */
function problemSchemaFor(status: number, codes: readonly ProblemCode[]) {
  const example = (code: ProblemCode): ProblemBody => ({
    type: problemType(code),
    title: PROBLEMS[code].title,
    status,
    detail: EXAMPLE_DETAILS[code],
    code,
    ...(code === 'validation_failed' ? { errors: [{ path: 'body.email', message: 'must be an email address' }] } : {}),
  })
  return z
    .object({
      type: z.string().meta({ description: 'A URI reference naming the problem type: /problems/<code>' }),
      title: z.string(),
      status: z.literal(status),
      detail: z.string().meta({ description: 'What happened, for people; never a stack trace or SQL' }),
      code: z.enum(codes as [ProblemCode, ...ProblemCode[]]).meta({ description: 'Stable, for programs to switch on' }),
      errors: z.array(fieldErrorSchema).optional().meta({ description: 'For validation_failed: every field that is wrong' }),
    })
    .meta({
      description: `Problem (RFC 9457): ${codes.map((code) => `${code} (${PROBLEMS[code].title.toLowerCase()})`).join(', ')}`,
      examples: codes.map(example),
    })
}

const EXAMPLE_DETAILS: Record<ProblemCode, string> = {
  validation_failed: 'body.email: must be an email address',
  link_invalid: 'This link is unknown, was already used, or a newer one replaced it',
  link_expired: 'This link has expired; ask for a new one',
  invalid_credentials: 'Email or password is wrong',
  token_missing: 'Send the access token as: Authorization: Bearer <token>',
  token_invalid: 'The token is malformed, forged, of the wrong type, or not meant for this API',
  token_expired: 'The token has expired',
  token_revoked: 'This login has been ended',
  token_reused: 'This refresh token was already used; the login has been ended everywhere it was used',
  csrf_failed: 'Requests that use the refresh_token cookie must send X-Requested-With: XMLHttpRequest',
  email_unverified: 'Confirm your email address first: open the link we mailed you, or ask for a new one',
  account_disabled: 'This account has been disabled by an administrator',
  forbidden: 'Only an enabled admin may do this',
  not_found: 'No route for GET /nowhere',
  email_taken: 'An account with this email already exists',
  last_admin: 'This is the last enabled admin: promote another user first',
  payload_too_large: 'The request body is larger than this API accepts',
  header_too_large: 'The request headers are larger than this server accepts',
  unsupported_media_type: 'Send the body as application/json',
  rate_limited: 'Too many failed logins for this account; retry in 900 seconds',
  internal_error: 'Something went wrong on our side',
  service_unavailable: 'The database is not reachable right now; retry shortly',
}

/** Response schemas for the problems a route can answer with, keyed by status, each listing its codes. */
export function problemResponses(spec: Partial<Record<number, readonly ProblemCode[]>>) {
  return Object.fromEntries(
    Object.entries(spec).map(([status, codes]) => [Number(status), problemSchemaFor(Number(status), codes ?? [])]),
  ) as Record<number, ReturnType<typeof problemSchemaFor>>
}

/** What every POST route can answer besides its own outcomes. */
export const BODY_PROBLEMS = {
  400: ['validation_failed'],
  413: ['payload_too_large'],
  415: ['unsupported_media_type'],
  500: ['internal_error'],
} as const satisfies Partial<Record<number, readonly ProblemCode[]>>
