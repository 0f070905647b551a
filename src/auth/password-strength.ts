import { createWorkerPool } from '../workers/worker-pool.js'
import { PASSWORD_CHECKS_BUSY } from './password-hasher.js'

/** What src/workers/password-strength-worker.mjs takes and gives back. */
interface StrengthTask {
  password: string
  userInputs: string[]
}

interface StrengthResult {
  score: number
  warning: string | null
  suggestions: string[]
}

export interface PasswordStrengthOptions {
  /** zxcvbn score a new password needs: 0 (anything) to 4; 3 = "safely unguessable" against slow-hash attacks. */
  minScore: number
  /** Checks allowed to wait for the worker; past this, 503 instead of a growing queue. */
  maxQueue?: number
}

/**
 * Refuses common and easily guessed passwords, with the reason, using zxcvbn-ts and its common-password and
 * English dictionaries. The estimate runs on one worker thread, never on the event loop; the first check
 * after an idle spell waits for the worker to start (a few hundred milliseconds).
 */
/**
 * A new password that is too easy to guess. The route that took the password decides which field of its
 * request to blame (its `passwordField` config); the error handler turns this into 400 validation_failed.
 */
export class WeakPasswordError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WeakPasswordError'
  }
}

export function createPasswordStrengthChecker(options: PasswordStrengthOptions) {
  const pool = createWorkerPool<StrengthTask, StrengthResult>({
    worker: 'password-strength',
    // Registrations are rare next to token checks: the worker (and its ~70 MB of dictionaries) exists only
    // while there is work, and goes away after a minute idle.
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 60_000,
    maxQueue: options.maxQueue ?? 64,
    busyDetail: PASSWORD_CHECKS_BUSY,
  })

  return {
    /** Throws WeakPasswordError, saying why, when `password` is too easy to guess given `context`. */
    async check(password: string, context: string[]): Promise<void> {
      if (options.minScore === 0) return
      const result = await pool.run({ password, userInputs: context })
      if (result.score >= options.minScore) return
      const why = [result.warning, ...result.suggestions].filter(Boolean).join(' ')
      throw new WeakPasswordError(`is too easy to guess${why ? `: ${why}` : ''}`)
    },
    close: pool.close,
  }
}

export type PasswordStrengthChecker = ReturnType<typeof createPasswordStrengthChecker>
