import { Prisma } from '../generated/prisma/client.js'

/**
 * The MySQL error number behind a failed raw statement: `$executeRaw` and `$queryRaw` fail with P2010
 * ("raw query failed"), the driver adapter's error in `meta.driverAdapterError`, not with P2002/P2034.
 */
function rawQueryErrno(error: Prisma.PrismaClientKnownRequestError): number | undefined {
  if (error.code !== 'P2010') return undefined
  const cause = (error.meta?.driverAdapterError as { cause?: { originalCode?: unknown } } | undefined)?.cause
  const code = Number(cause?.originalCode)
  return Number.isInteger(code) ? code : undefined
}

/** True for "unique constraint failed" (P2002, or MySQL 1062 from a raw statement): the row was already there. */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code === 'P2002' || rawQueryErrno(error) === 1062
  return typeof error === 'object' && error !== null && (error as { errno?: unknown }).errno === 1062
}

/**
 * True for a write conflict or deadlock (MySQL 1213, which Prisma reports as P2034). On Galera this is
 * also how a transaction that lost certification to another node's write-set fails, at commit: two
 * inserts of one primary key on different nodes meet as this, not as a duplicate key.
 */
export function isWriteConflict(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code === 'P2034' || rawQueryErrno(error) === 1213
  return typeof error === 'object' && error !== null && (error as { errno?: unknown }).errno === 1213
}

/**
 * True for anything the database layer throws: Prisma's error classes, and driver errors that reach
 * us unwrapped. The error handler answers these with 503 and never shows their text.
 */
export function isDatabaseError(error: unknown): boolean {
  if (
    error instanceof Prisma.PrismaClientKnownRequestError ||
    error instanceof Prisma.PrismaClientUnknownRequestError ||
    error instanceof Prisma.PrismaClientInitializationError ||
    error instanceof Prisma.PrismaClientRustPanicError
  ) {
    return true
  }
  if (typeof error !== 'object' || error === null) return false
  const { name, sqlState } = error as { name?: unknown; sqlState?: unknown }
  return name === 'DriverAdapterError' || name === 'SqlError' || name === 'DatabaseTimeoutError' || typeof sqlState === 'string'
}

/** A MariaDB driver error raised while a new connection was being set up (SQLSTATE 08S01, fatal). */
export function isConnectionSetupError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { name, fatal, sqlState } = error as { name?: unknown; fatal?: unknown; sqlState?: unknown }
  return name === 'SqlError' && fatal === true && sqlState === '08S01'
}

/** A MariaDB driver error for a table that does not exist (ER_NO_SUCH_TABLE). */
export function isMissingTable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { errno?: unknown }).errno === 1146
}
