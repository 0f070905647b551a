import { z } from 'zod'

const codePoints = (value: string) => [...value].length

const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be an email address' }))
  .meta({ description: 'Trimmed and compared lower-cased', example: 'ada@example.com' })

// Counted in characters (code points), not UTF-16 units or bytes: any Unicode is welcome, spaces included.
const passwordSchema = z
  .string()
  .refine((value) => codePoints(value) >= 8, 'must be at least 8 characters')
  .refine((value) => codePoints(value) <= 1024, 'must be at most 1024 characters')
  .meta({
    description:
      '8 to 1024 characters, any Unicode; every character counts (no 72-byte truncation). Common or easily ' +
      'guessed passwords are refused with the reason.',
    example: 'correct horse battery staple',
  })

export const credentialsSchema = z.strictObject({ email: emailSchema, password: passwordSchema })

/** A link token as the front end read it from the link's fragment; its shape is checked by the service. */
const linkTokenSchema = z.string().min(1).max(256).meta({ description: 'The token from the link (after #token=)' })

export const linkTokenBodySchema = z.strictObject({ token: linkTokenSchema })

export const emailBodySchema = z.strictObject({ email: emailSchema })

export const passwordResetSchema = z.strictObject({ token: linkTokenSchema, newPassword: passwordSchema })

export const emailChangeSchema = z.strictObject({ newEmail: emailSchema, currentPassword: z.string().min(1).max(4096) })

export const accountDeletionSchema = z.strictObject({ password: z.string().min(1).max(4096) })

export const acceptedSchema = z
  .object({ status: z.literal('accepted'), detail: z.string() })
  .meta({ id: 'Accepted', description: 'The request was taken; the same answer whether or not the address has an account' })

export const passwordChangeSchema = z.strictObject({
  currentPassword: z.string().min(1).max(4096),
  newPassword: passwordSchema,
})

export const loginSchema = z.strictObject({
  email: emailSchema,
  // Login compares against the stored hash only; the register rules do not apply to old passwords.
  password: z.string().min(1).max(4096),
  transport: z
    .enum(['body', 'cookie'])
    .default('body')
    .meta({ description: 'body: the refresh token comes back in JSON. cookie: only in the HttpOnly refresh_token cookie.' }),
  rememberMe: z
    .boolean()
    .default(false)
    .meta({ description: 'Longer refresh lifetime, and a persistent instead of a session cookie' }),
})

export const refreshTokenBodySchema = z
  .strictObject({
    refreshToken: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .meta({ description: 'Omit to use the refresh_token cookie (then X-Requested-With: XMLHttpRequest is required)' }),
  })
  .nullish()

export const userSchema = z
  .object({
    id: z.string().meta({ example: '0193a1c2-7b7e-7cc1-9d1e-2f0a5c1e7b10' }),
    email: z.string().meta({ example: 'ada@example.com' }),
    role: z.enum(['user', 'admin']),
    emailVerified: z.boolean().meta({ description: 'The user opened a link mailed to this address' }),
    createdAt: z.iso.datetime().meta({ example: '2026-11-25T09:00:00.000Z' }),
  })
  .meta({ id: 'User' })

export const meSchema = z
  .object({ id: z.string(), email: z.string(), role: z.enum(['user', 'admin']), emailVerified: z.boolean() })
  .meta({ id: 'Me', description: 'Read from the access token claims; no database call' })

export const tokenResponseSchema = z
  .object({
    tokenType: z.literal('Bearer'),
    accessToken: z.string(),
    expiresIn: z.number().int().meta({ description: 'Seconds until the access token expires' }),
    refreshToken: z.string().optional().meta({ description: 'Absent with cookie transport' }),
    refreshExpiresIn: z.number().int().meta({ description: 'Seconds until the refresh token (the login) expires' }),
  })
  .meta({ id: 'TokenResponse' })
