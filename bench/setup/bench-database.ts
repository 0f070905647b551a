import { createHash } from 'node:crypto'
import { createConnection, type Connection } from 'mariadb'

export const BENCH_DATABASE = 'jwt_bench'

/** The MariaDB server the bench uses (root by default), and the bench database on it. */
export function benchDatabaseUrls(serverUrl = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306') {
  const server = new URL(serverUrl)
  server.pathname = '/'
  return { server: server.toString(), database: new URL(`/${BENCH_DATABASE}`, server).toString() }
}

export function connect(url: string): Promise<Connection> {
  const { hostname, port, username, password, pathname } = new URL(url)
  return createConnection({
    host: hostname,
    port: Number(port || 3306),
    user: decodeURIComponent(username) || 'root',
    password: decodeURIComponent(password),
    database: decodeURIComponent(pathname.slice(1)) || undefined,
  })
}

export async function mariadbVersion(connection: Connection): Promise<string> {
  const [row] = await connection.query<{ version: string }[]>('SELECT VERSION() AS version')
  return row?.version ?? 'unknown'
}

export async function dropBenchDatabase(server: Connection): Promise<void> {
  await server.query(`DROP DATABASE IF EXISTS \`${BENCH_DATABASE}\``)
}

/** The bench users, numbered 0..n-1, as a temporary table that bulk inserts can join on `seq % n`. */
async function numberUsers(db: Connection): Promise<number> {
  await db.query('DROP TEMPORARY TABLE IF EXISTS bench_users')
  await db.query(
    'CREATE TEMPORARY TABLE bench_users (n INT PRIMARY KEY, id CHAR(36), email VARCHAR(254), role VARCHAR(16)) ' +
      'SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS n, id, email, role FROM users',
  )
  const [row] = await db.query<{ count: bigint | number }[]>('SELECT COUNT(*) AS count FROM bench_users')
  const count = Number(row?.count ?? 0)
  if (count === 0) throw new Error('no users in the bench database: register them first')
  return count
}

/** The session keys the table holds: SHA-1 hex of salt + row number, computed the same way in SQL. */
export function sessionKeys(salt: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => createHash('sha1').update(`${salt}${index}`).digest('hex'))
}

/**
 * Django's session table (django_session: session_key CHAR(40) primary key, session_data TEXT,
 * expire_date DATETIME indexed), filled in one INSERT ... SELECT. Named apart from the service's own
 * `sessions` table, which it would otherwise replace. Each session names one of the bench
 * users, so the session routes answer what /me answers.
 */
export async function createSessionTable(db: Connection, salt: string, count: number): Promise<void> {
  await db.query('DROP TABLE IF EXISTS bench_server_sessions')
  await db.query(
    'CREATE TABLE bench_server_sessions (session_key CHAR(40) NOT NULL PRIMARY KEY, session_data TEXT NOT NULL, ' +
      'expire_date DATETIME(3) NOT NULL, INDEX bench_server_sessions_expire_date_idx (expire_date)) ' +
      'DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci',
  )
  const users = await numberUsers(db)
  await db.query(
    `INSERT INTO bench_server_sessions (session_key, session_data, expire_date)
     SELECT SHA1(CONCAT(?, s.seq)), JSON_OBJECT('id', u.id, 'email', u.email, 'role', u.role, 'emailVerified', JSON_EXTRACT('false', '$')), NOW(3) + INTERVAL 1 DAY
     FROM seq_0_to_${count - 1} s JOIN bench_users u ON u.n = s.seq % ?`,
    [salt, users],
  )
  await db.query('ANALYZE TABLE bench_server_sessions')
}

export async function clearDenylist(db: Connection): Promise<void> {
  await db.query('TRUNCATE TABLE revoked_tokens')
}

// A random-looking UUIDv4 built from MD5, in SQL: like real jti values, the ids land all over the key space.
const uuidFrom = (hex: string) =>
  `CONCAT_WS('-', SUBSTR(${hex}, 1, 8), SUBSTR(${hex}, 9, 4), CONCAT('4', SUBSTR(${hex}, 14, 3)), ` +
  `CONCAT('8', SUBSTR(${hex}, 18, 3)), SUBSTR(${hex}, 21, 12))`

/** Rows still needed (expiring tomorrow), or prunable (expired some time in the last 30 days). */
export type DenylistExpiry = 'live' | 'expired'

// Expired rows are spread over the 30 days before the fill, a second apart, so the prune's walk down the
// expires_at index visits primary-key pages in random order, as it would after a month of refreshes.
const EXPIRES_AT: Record<DenylistExpiry, string> = {
  live: 'NOW(3) + INTERVAL 1 DAY',
  expired: 'NOW(3) - INTERVAL 1 MINUTE - INTERVAL (s.seq MOD 2592000) SECOND',
}

/**
 * Fills the denylist with `rows` well-formed rotation rows (scope token, reason rotated, a real user, a
 * successor), as a busy day of refreshes would leave it: expiring tomorrow, or already expired and waiting
 * for the prune. One INSERT ... SELECT from MariaDB's sequence engine, in primary-key order: random-order
 * inserts into a table larger than the buffer pool take minutes, while the index built in order is the
 * same index.
 */
export async function fillDenylist(db: Connection, rows: number, expiry: DenylistExpiry = 'live'): Promise<void> {
  await clearDenylist(db)
  const users = await numberUsers(db)
  const salt = `${Date.now()}:`
  const expiresAt = EXPIRES_AT[expiry]
  await db.query(
    `INSERT INTO revoked_tokens (id, scope, user_id, reason, successor_jti, revoked_at, expires_at)
     SELECT ${uuidFrom('s.h')} AS id, 'token', u.id, 'rotated', ${uuidFrom('s.h2')},
       LEAST(NOW(3), ${expiresAt} - INTERVAL 1 DAY), ${expiresAt}
     FROM (SELECT seq, MD5(CONCAT(?, 'jti', seq)) AS h, MD5(CONCAT(?, 'successor', seq)) AS h2 FROM seq_0_to_${rows - 1}) s
     JOIN bench_users u ON u.n = s.seq % ?
     ORDER BY id`,
    [salt, salt, users],
  )
  await db.query('ANALYZE TABLE revoked_tokens')
}

export async function countDenylist(db: Connection): Promise<number> {
  const [row] = await db.query<{ count: bigint | number }[]>('SELECT COUNT(*) AS count FROM revoked_tokens')
  return Number(row?.count ?? 0)
}

/** Rows the prune would delete now. */
export async function countExpiredDenylist(db: Connection): Promise<number> {
  const [row] = await db.query<{ count: bigint | number }[]>(
    'SELECT COUNT(*) AS count FROM revoked_tokens WHERE expires_at < NOW(3)',
  )
  return Number(row?.count ?? 0)
}
