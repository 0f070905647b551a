// Child process: how many bare single-row INSERTs MariaDB commits per second (autocommit, one durable
// commit each) through a pool of the app's size, with as many callers as the HTTP scenarios have
// connections. No Prisma, no HTTP, no signing: the floor a rotation's commit point stands on, measured in
// the same run as refresh-empty. Run by bench/scenarios/commit-floor.ts.
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createPool } from 'mariadb'

export interface CommitFloorRequest {
  databaseUrl: string
  poolSize: number
  callers: number
  seconds: number
}

export interface CommitFloorReply {
  commitsPerSecond: number
}

// A scratch copy of the denylist (same columns and indexes, no foreign key), so each commit writes what a
// rotation writes and the real table is left alone.
const TABLE = 'bench_commit_floor'

async function measure({ databaseUrl, poolSize, callers, seconds }: CommitFloorRequest): Promise<number> {
  const { hostname, port, username, password, pathname } = new URL(databaseUrl)
  const pool = createPool({
    host: hostname,
    port: Number(port || 3306),
    user: decodeURIComponent(username) || 'root',
    password: decodeURIComponent(password),
    database: decodeURIComponent(pathname.slice(1)),
    connectionLimit: poolSize,
  })
  try {
    await pool.query(`CREATE TABLE IF NOT EXISTS ${TABLE} LIKE revoked_tokens`)
    await pool.query(`TRUNCATE TABLE ${TABLE}`)
    // Open every connection before the clock starts.
    await Promise.all(Array.from({ length: poolSize }, () => pool.query('SELECT 1')))
    const userId = randomUUID()
    const started = performance.now()
    const deadline = started + seconds * 1000
    let count = 0
    const caller = async () => {
      while (performance.now() < deadline) {
        await pool.query(
          `INSERT INTO ${TABLE} (id, scope, user_id, reason, successor_jti, revoked_at, expires_at) ` +
            "VALUES (?, 'token', ?, 'rotated', ?, NOW(3), NOW(3) + INTERVAL 1 DAY)",
          [randomUUID(), userId, randomUUID()],
        )
        count++
      }
    }
    await Promise.all(Array.from({ length: callers }, caller))
    const rate = count / ((performance.now() - started) / 1000)
    await pool.query(`DROP TABLE ${TABLE}`)
    return rate
  } finally {
    await pool.end()
  }
}

process.once('message', (message) => {
  measure(message as CommitFloorRequest).then(
    (commitsPerSecond) => process.send?.({ commitsPerSecond } satisfies CommitFloorReply, () => process.disconnect()),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
})
