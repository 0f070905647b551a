import { Piscina } from 'piscina'
import { ProblemError } from '../errors/problem.js'
import type { StrengthResult, StrengthTask } from './password-strength-worker.js'

// Under tsx (tests, development) the worker is the .ts file and needs the same loader; built, it is .js.
const runningFromSource = import.meta.url.endsWith('.ts')
const WORKER = new URL(`./password-strength-worker.${runningFromSource ? 'ts' : 'js'}`, import.meta.url)
const workerExecArgv =
  runningFromSource && !process.execArgv.some((arg) => arg.includes('tsx'))
    ? [...process.execArgv, '--import', 'tsx']
    : process.execArgv

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
export function createPasswordStrengthChecker(options: PasswordStrengthOptions) {
  const pool = new Piscina<StrengthTask, StrengthResult>({
    filename: WORKER.href,
    // Registrations are rare next to token checks: the worker (and its ~70 MB of dictionaries) exists only
    // while there is work, and goes away after a minute idle.
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 60_000,
    maxQueue: options.maxQueue ?? 64,
    execArgv: workerExecArgv,
  })

  async function estimate(task: StrengthTask): Promise<StrengthResult> {
    try {
      return await pool.run(task)
    } catch (error) {
      if ((error as Error).message?.includes('queue is at limit')) {
        throw new ProblemError('service_unavailable', 'Too many password checks in progress; retry shortly', {
          headers: { 'retry-after': '1' },
        })
      }
      throw error
    }
  }

  return {
    /** Throws 400 validation_failed, saying why, when `password` is too easy to guess. */
    async check(password: string, { field, context }: { field: string; context: string[] }): Promise<void> {
      if (options.minScore === 0) return
      const result = await estimate({ password, userInputs: context })
      if (result.score >= options.minScore) return
      const why = [result.warning, ...result.suggestions].filter(Boolean).join(' ')
      const message = `is too easy to guess${why ? `: ${why}` : ''}`
      throw new ProblemError('validation_failed', `${field}: ${message}`, { errors: [{ path: field, message }] })
    },
    close(): Promise<void> {
      return pool.destroy()
    },
  }
}

export type PasswordStrengthChecker = ReturnType<typeof createPasswordStrengthChecker>
