import { PrismaMariaDb } from '@prisma/adapter-mariadb'
import { createPool, type Pool } from 'mariadb'
import { PrismaClient } from '../generated/prisma/client.js'
import type { Config } from '../config.js'
import { poolConfigFromUrl } from './connection-options.js'

/** A database call that outlived its deadline; answered with 503 like any other database failure. */
export class DatabaseTimeoutError extends Error {
  constructor(ms: number) {
    super(`database operation did not finish within ${ms} ms`)
    this.name = 'DatabaseTimeoutError'
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeoutError(ms)), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}

/** Counts database calls in flight, so that closing can wait for them instead of cutting them off. */
class InFlight {
  count = 0
  #idle: (() => void)[] = []

  track<T>(work: Promise<T>): Promise<T> {
    this.count++
    return work.finally(() => {
      if (--this.count === 0) for (const resolve of this.#idle.splice(0)) resolve()
    })
  }

  /** Resolves when nothing is in flight, or after `ms` at the latest. */
  drained(ms: number): Promise<void> {
    if (this.count === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#idle.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}

function createClient(pool: Pool, operationTimeoutMs: number, inFlight: InFlight) {
  // Every Prisma call gets a client-side deadline on top of the pool's acquire timeout: that one does not
  // fire when the network silently drops packets mid-query.
  return new PrismaClient({ adapter: new PrismaMariaDb(pool) }).$extends({
    query: {
      $allOperations({ args, query }) {
        return inFlight.track(withDeadline(query(args), operationTimeoutMs))
      },
    },
  })
}

export type Db = ReturnType<typeof createClient>

export interface Database {
  prisma: Db
  pool: Pool
  /** Resolves when the app's tables answer, within the operation deadline; rejects otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * One bounded MariaDB pool per process, shared by Prisma (through the driver adapter) and the health
 * check. Opening it does not wait for the database: the server starts, and answers /health/ready with
 * 503, while the database is still down.
 */
export function openDatabase(config: Config['database']): Database {
  const pool = createPool(poolConfigFromUrl(config.url, config))
  const inFlight = new InFlight()
  const prisma = createClient(pool, config.operationTimeoutMs, inFlight)
  // Connect in the background: the adapter's first connection probes the server version, and a request
  // should not pay for that probe on top of its own query when the database is down.
  prisma.$connect().catch(() => undefined)
  return {
    prisma,
    pool,
    async ping() {
      // A table, not just the connection: until migrations have run, the app is not ready either.
      await withDeadline(pool.query('SELECT 1 FROM revoked_tokens LIMIT 0'), config.operationTimeoutMs)
    },
    async close() {
      // A handler whose client went away can still be writing; let it finish (each call is bounded).
      await inFlight.drained(config.operationTimeoutMs)
      await prisma.$disconnect()
      await pool.end()
    },
  }
}
