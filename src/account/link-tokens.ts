import { createHash, randomBytes } from 'node:crypto'

/** 32 random bytes, base64url: 256 bits, beyond guessing, and safe in a URL fragment. */
const TOKEN_BYTES = 32
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** What is stored for a link: never the token itself, so a database dump holds no usable link. */
export const hashLinkToken = (token: string): string => createHash('sha256').update(token).digest('hex')

export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  return { token, hash: hashLinkToken(token) }
}

/** A token of the shape newLinkToken makes; anything else is refused without a database read. */
export const isWellFormedLinkToken = (token: string): boolean => TOKEN_PATTERN.test(token)
