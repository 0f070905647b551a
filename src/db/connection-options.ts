import type { PoolConfig } from 'mariadb'

export interface PoolLimits {
  poolSize: number
  connectTimeoutMs: number
  acquireTimeoutMs: number
}

/**
 * Turns a Prisma-style `mysql://user:password@host:port/database` URL into the MariaDB driver's pool
 * settings. `sslaccept=strict` (Prisma's spelling) or `ssl=true` turns on verified TLS.
 */
export function poolConfigFromUrl(databaseUrl: string, limits: PoolLimits): PoolConfig {
  const url = new URL(databaseUrl)
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  const sslAccept = url.searchParams.get('sslaccept')
  const ssl = url.searchParams.get('ssl') === 'true' || sslAccept !== null
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    password: decodeURIComponent(url.password),
    database: database || undefined,
    connectionLimit: limits.poolSize,
    connectTimeout: limits.connectTimeoutMs,
    acquireTimeout: limits.acquireTimeoutMs,
    // Same default the Prisma adapter applies to pools it creates itself.
    prepareCacheLength: 0,
    // No `timezone`, `queryTimeout` or `initSql` here: the driver runs each as a query while it opens a
    // connection, and a connection lost at that moment surfaces as an unhandled rejection (mariadb 3.4).
    // Prisma reads and writes DATETIME as UTC strings itself; statement time is bounded per call by the
    // client-side deadline (src/db/prisma.ts) and can be capped per user on the server (README runbook).
    ssl: ssl ? { rejectUnauthorized: sslAccept !== 'accept_invalid_certs' } : undefined,
  }
}

export function databaseName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''))
}

/** The same URL pointed at no database, for CREATE/DROP DATABASE. */
export function serverUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl)
  url.pathname = '/'
  return url.toString()
}
