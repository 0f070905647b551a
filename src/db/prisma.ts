import { PrismaMariaDb } from '@prisma/adapter-mariadb'
import type { ITXClientDenyList } from '@prisma/client/runtime/client'
import { createPool, type Pool } from 'mariadb'
import { PrismaClient } from '../generated/prisma/client.js'
import type { Config } from '../config.js'
import { poolConfigFromUrl } from './connection-options.js'
import { isMissingTable } from './prisma-errors.js'
import { latestMigrationName, MIGRATIONS_DIR } from '../deploy/migration-files.js'

/** The database answers, but the newest migration this build ships is not applied (yet). */
export class SchemaBehindError extends Error {
  constructor(migration: string) {
    super(`migration ${migration} is not applied`)
    this.name = 'SchemaBehindError'
  }
}

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

/** What a repository runs its statements on: the client itself, or the client of an open transaction. */
export type DbClient = Omit<Db, ITXClientDenyList>

export interface TransactionOptions {
  /** READ COMMITTED for a queue claim: its FOR UPDATE scan then takes no gap locks that block inserts. */
  isolationLevel?: 'ReadCommitted'
}

export interface Database {
  prisma: Db
  pool: Pool
  /**
   * Runs `work` as one transaction: every statement it makes through `tx` commits together or not at all.
   * The per-call deadline holds for the transaction as a whole, and its failures are database errors (503).
   */
  transaction<T>(work: (tx: DbClient) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** Resolves when the database answers and is migrated, within the operation deadline; rejects otherwise. */
  checkReady(): Promise<void>
  close(): Promise<void>
}

/**
 * One bounded MariaDB pool per process, shared by Prisma (through the driver adapter) and the health
 * check. Opening it does not wait for the database: the server starts, and answers /health/ready with
 * 503, while the database is still down.
 */
export function openDatabase(config: Config['database']): Database {
  const pool = createPool(poolConfigFromUrl(config.url, config))
  const latestMigration = latestMigrationName(MIGRATIONS_DIR)
  if (!latestMigration) throw new Error(`No migrations in ${MIGRATIONS_DIR}: this build is incomplete`)
  const inFlight = new InFlight()
  const prisma = createClient(pool, config.operationTimeoutMs, inFlight)
  // Connect in the background: the adapter's first connection probes the server version, and a request
  // should not pay for that probe on top of its own query when the database is down.
  prisma.$connect().catch(() => undefined)
  return {
    prisma,
    pool,
    transaction(work, options) {
      // Prisma's own timeout rolls the transaction back; the outer deadline also covers a silent network.
      const settings = { ...options, maxWait: config.acquireTimeoutMs, timeout: config.operationTimeoutMs }
      return inFlight.track(withDeadline(prisma.$transaction(work, settings), config.operationTimeoutMs))
    },
    async checkReady() {
      // Ready means migrated, not just connected: the newest migration this build ships is recorded as
      // finished (by `prisma migrate deploy` or our applier, the same bookkeeping). A start-up migration
      // still running, or a deploy step not run yet, keeps the process out of the load balancer.
      const rows = await withDeadline(
        pool.query<unknown[]>(
          'SELECT 1 FROM _prisma_migrations WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL',
          [latestMigration],
        ),
        config.operationTimeoutMs,
      ).catch((error: unknown) => {
        // No bookkeeping table at all: a database nothing has migrated yet.
        throw isMissingTable(error) ? new SchemaBehindError(latestMigration) : error
      })
      if (rows.length === 0) throw new SchemaBehindError(latestMigration)
    },
    async close() {
      // A handler whose client went away can still be writing; let it finish (each call is bounded).
      await inFlight.drained(config.operationTimeoutMs)
      await prisma.$disconnect()
      await pool.end()
    },
  }
}
