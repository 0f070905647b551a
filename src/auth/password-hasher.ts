import { createHmac } from 'node:crypto'
import { createWorkerPool } from '../workers/worker-pool.js'

/** What src/workers/bcrypt-worker.mjs takes: hash(HashTask) -> string, compare(CompareTask) -> boolean. */
type HashTask = { input: string; cost: number }
type CompareTask = { input: string; hash: string }

// bcrypt reads only the first 72 bytes of its input, so a long passphrase would be silently cut.
// Scheme v1 feeds bcrypt base64(HMAC-SHA-256(NFKC(password))) instead: 44 ASCII bytes, no NUL, and
// every byte of the password counts (OWASP Password Storage Cheat Sheet, "Pre-Hashing Passwords").
// The HMAC key is a fixed label, not a secret: it separates this use of SHA-256 from any other.
const PREHASH_KEY = 'jwt-auth-api/password-prehash/v1'
const V1_PREFIX = 'v1:'

/** What a client is told when password work (hashing or a strength check) is shed because its queue is full. */
export const PASSWORD_CHECKS_BUSY = 'Too many password checks in progress; retry shortly'

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
 * Hashes and checks passwords with bcrypt on worker threads of lowered priority, never on the event loop
 * (nor on libuv's pool, which checks token signatures). Work is bounded: at most `concurrency` hashes run
 * at once, so bcrypt cannot starve the CPU that serves token checks, and a flood of logins is shed with
 * 503 rather than queued without end.
 *
 * Stored formats: `v1:<bcrypt>` (current) and a bare `$2a$`/`$2b$` bcrypt hash (imported from
 * elsewhere; checked as plain bcrypt and upgraded at the next good login).
 */
export function createPasswordHasher(options: PasswordHasherOptions) {
  const pool = createWorkerPool<HashTask | CompareTask, string | boolean>({
    worker: 'bcrypt',
    minThreads: options.concurrency,
    maxThreads: options.concurrency,
    maxQueue: options.maxQueue,
    busyDetail: PASSWORD_CHECKS_BUSY,
  })
  const bcryptHash = async (input: string) => (await pool.run({ input, cost: options.cost }, 'hash')) as string
  const bcryptCompare = async (input: string, hash: string) => (await pool.run({ input, hash }, 'compare')) as boolean
  // An unknown email is checked against this, so it costs the same as a wrong password.
  let dummyHash: Promise<string> | undefined

  const costOf = (bcryptHash: string) => Number(bcryptHash.split('$')[2])

  async function hash(password: string): Promise<string> {
    return V1_PREFIX + (await bcryptHash(prehash(password)))
  }

  async function verify(password: string, storedHash: string): Promise<VerifyResult> {
    if (storedHash.startsWith(V1_PREFIX)) {
      const stored = storedHash.slice(V1_PREFIX.length)
      const ok = await bcryptCompare(prehash(password), stored)
      return { ok, needsRehash: ok && costOf(stored) !== options.cost }
    }
    if (/^\$2[aby]\$/.test(storedHash)) {
      // Imported hashes were made from the raw password, without our normalisation.
      const ok = await bcryptCompare(password, storedHash)
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
    close: pool.close,
  }
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>
