import { createConnection, type Connection } from 'mariadb'

/** The MariaDB server the soak database lives on; the API reaches it through the proxy, this code directly. */
const SERVER_URL = new URL(process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306')

export interface DenylistRow {
  id: string
  scope: 'token' | 'family'
  reason: string
  successorJti: string | null
  /** Epoch ms. */
  revokedAt: number
}

/** The mail outbox by status. */
export interface MailOutboxCounts {
  pending: number
  sent: number
  failed: number
}

export interface SoakDatabase {
  name: string
  host: string
  port: number
  /** The database URL with another host and port: the way in through the proxy. */
  urlVia(port: number): string
  denylist(): Promise<DenylistRow[]>
  mailOutbox(): Promise<MailOutboxCounts>
  drop(): Promise<void>
}

async function withConnection<T>(database: string | undefined, work: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await createConnection({
    host: SERVER_URL.hostname,
    port: Number(SERVER_URL.port || 3306),
    user: decodeURIComponent(SERVER_URL.username || 'root'),
    password: decodeURIComponent(SERVER_URL.password),
    database,
    // DATETIME(3) columns hold UTC (Prisma writes UTC); read them as text and say so.
    dateStrings: true,
  })
  try {
    return await work(connection)
  } finally {
    await connection.end()
  }
}

const utcMs = (datetime: string) => Date.parse(`${datetime.replace(' ', 'T')}Z`)

export async function createSoakDatabase(name: string): Promise<SoakDatabase> {
  await withConnection(undefined, (connection) =>
    connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  )
  return {
    name,
    host: SERVER_URL.hostname,
    port: Number(SERVER_URL.port || 3306),
    urlVia(port) {
      const url = new URL(SERVER_URL)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      url.pathname = `/${name}`
      return url.toString()
    },
    async mailOutbox() {
      const rows = await withConnection(name, (connection) =>
        connection.query<{ status: keyof MailOutboxCounts; count: bigint }[]>('SELECT status, COUNT(*) AS count FROM mail_outbox GROUP BY status'),
      )
      const counts: MailOutboxCounts = { pending: 0, sent: 0, failed: 0 }
      for (const row of rows) counts[row.status] = Number(row.count)
      return counts
    },

    async denylist() {
      const rows = await withConnection(name, (connection) =>
        connection.query<{ id: string; scope: DenylistRow['scope']; reason: string; successor_jti: string | null; revoked_at: string }[]>(
          'SELECT id, scope, reason, successor_jti, revoked_at FROM revoked_tokens',
        ),
      )
      return rows.map((row) => ({
        id: row.id,
        scope: row.scope,
        reason: row.reason,
        successorJti: row.successor_jti,
        revokedAt: utcMs(row.revoked_at),
      }))
    },
    drop: () => withConnection(undefined, (connection) => connection.query(`DROP DATABASE IF EXISTS \`${name}\``)).then(() => undefined),
  }
}
