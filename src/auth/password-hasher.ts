import { createHmac } from 'node:crypto'
import bcrypt from 'bcrypt'
import pLimit from 'p-limit'
import { ProblemError } from '../errors/problem.js'

// bcrypt reads only the first 72 bytes of its input, so a long passphrase would be silently cut.
// Scheme v1 feeds bcrypt base64(HMAC-SHA-256(NFKC(password))) instead: 44 ASCII bytes, no NUL, and
// every byte of the password counts (OWASP Password Storage Cheat Sheet, "Pre-Hashing Passwords").
// The HMAC key is a fixed label, not a secret: it separates this use of SHA-256 from any other.
const PREHASH_KEY = 'jwt-auth-api/password-prehash/v1'
const V1_PREFIX = 'v1:'

export interface PasswordHasherOptions {
  cost: number
  /** Hashes computed at once; the rest wait in a bounded queue. */
  concurrency: number
  /** Hash requests allowed to wait; past this, callers get 503 at once instead of a long wait. */
  maxQueue: number
}

export interface VerifyResult {
  ok: boolean
  /** True when the stored hash uses an old scheme or cost and should be replaced after a good login. */
  needsRehash: boolean
}

function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFKC'), 'utf8').digest('base64')
}

/**
 * Hashes and checks passwords with bcrypt on libuv's thread pool, never on the event loop. Work is
 * bounded: at most `concurrency` hashes run at once, so bcrypt cannot starve the CPU that serves token
 * verification, and a flood of logins is shed with 503 rather than queued without end.
 *
 * Stored formats: `v1:<bcrypt>` (current) and a bare `$2a$`/`$2b$` bcrypt hash (imported from
 * elsewhere; checked as plain bcrypt and upgraded at the next good login).
 */
export function createPasswordHasher(options: PasswordHasherOptions) {
  const limit = pLimit(options.concurrency)
  // An unknown email is checked against this, so it costs the same as a wrong password.
  let dummyHash: Promise<string> | undefined

  function schedule<T>(work: () => Promise<T>): Promise<T> {
    if (limit.activeCount + limit.pendingCount >= options.concurrency + options.maxQueue) {
      return Promise.reject(
        new ProblemError('service_unavailable', 'Too many password checks in progress; retry shortly', {
          headers: { 'retry-after': '1' },
        }),
      )
    }
    return limit(work)
  }

  const costOf = (bcryptHash: string) => Number(bcryptHash.split('$')[2])

  async function hash(password: string): Promise<string> {
    return V1_PREFIX + (await schedule(() => bcrypt.hash(prehash(password), options.cost)))
  }

  async function verify(password: string, stored: string): Promise<VerifyResult> {
    if (stored.startsWith(V1_PREFIX)) {
      const bcryptHash = stored.slice(V1_PREFIX.length)
      const ok = await schedule(() => bcrypt.compare(prehash(password), bcryptHash))
      return { ok, needsRehash: ok && costOf(bcryptHash) !== options.cost }
    }
    if (/^\$2[aby]\$/.test(stored)) {
      // Imported hashes were made from the raw password, without our normalisation.
      const ok = await schedule(() => bcrypt.compare(password, stored))
      return { ok, needsRehash: ok }
    }
    return { ok: false, needsRehash: false }
  }

  return {
    hash,
    verify,
    /** Spends the same work as verify() against a real hash, for accounts that do not exist. */
    async verifyDummy(password: string): Promise<void> {
      dummyHash ??= hash('dummy password for unknown accounts')
      await verify(password, await dummyHash)
    },
    /** Starts computing the dummy hash, so the first unknown-account login is not slower than the rest. */
    warmUp(): Promise<void> {
      dummyHash ??= hash('dummy password for unknown accounts')
      return dummyHash.then(() => undefined)
    },
  }
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>
