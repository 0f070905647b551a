import { Piscina } from 'piscina'
import { ProblemError } from '../errors/problem.js'

export interface WorkerPoolOptions {
  /** The worker module, by its name in this folder without extension. */
  worker: 'password-strength' | 'bcrypt'
  minThreads: number
  maxThreads: number
  /** Tasks allowed to wait; past this, callers get 503 at once instead of a long wait. */
  maxQueue: number
  idleTimeout?: number
  /** What the 503 says when the queue is full. */
  busyDetail: string
}

/**
 * CPU-heavy work (bcrypt, password-strength estimates) runs on piscina worker threads, never on the event
 * loop that serves token checks. The queue is bounded: overload is shed with 503 and Retry-After.
 */
export function createWorkerPool<Task, Result>(options: WorkerPoolOptions) {
  const pool = new Piscina<Task, Result>({
    // Worker entry points are plain .mjs files, the same in src/ and dist/: no loader needed in a worker.
    filename: new URL(`./${options.worker}-worker.mjs`, import.meta.url).href,
    minThreads: options.minThreads,
    maxThreads: options.maxThreads,
    idleTimeout: options.idleTimeout,
  })
  return {
    run(task: Task, name?: string): Promise<Result> {
      // The bound is ours, checked before submitting: piscina's own limit only says so in an error message.
      if (pool.queueSize >= options.maxQueue) {
        return Promise.reject(new ProblemError('service_unavailable', options.busyDetail, { retryAfterSeconds: 1 }))
      }
      return pool.run(task, name ? { name } : undefined)
    },
    close: () => pool.destroy(),
  }
}
