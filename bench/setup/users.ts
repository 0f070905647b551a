import { randomBytes } from 'node:crypto'
import type { Connection } from 'mariadb'
import { v7 as uuidv7 } from 'uuid'
import { createPasswordHasher } from '../../src/auth/password-hasher.js'
import { BENCH_BCRYPT_COST } from './server-env.js'
import type { TokenSubject } from './token-minter.js'

export interface BenchUser extends TokenSubject {
  password: string
  /** From a real login: what the /me warm scenario sends. */
  accessToken: string
}

type Answer = { status: number; json: Record<string, unknown> }

async function post(baseUrl: string, path: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const json = (await response.json()) as Record<string, unknown>
  if (response.status === 429) {
    throw new Error(`${path} answered 429 during setup: the server's rate limits must allow the bench (see bench/README.md)`)
  }
  return { status: response.status, json }
}

async function logIn(baseUrl: string, email: string, password: string): Promise<string> {
  const login = await post(baseUrl, '/auth/login', { email, password })
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${JSON.stringify(login.json)}`)
  return String(login.json.accessToken)
}

/**
 * `count` users, each logged in through the API. The rows are written straight into the database, with
 * a password hash made by the project's own hasher (one password for all): registering through the API
 * would leave the server, when the /me scenarios start, holding the password-strength worker and its
 * dictionaries (~60 MB for a minute), memory that belongs to a registration burst, not to serving /me.
 * A few logins at a time: the server runs bcrypt on a bounded queue and sheds the excess with 503.
 */
export async function createBenchUsers(baseUrl: string, db: Connection, count: number, concurrency = 4): Promise<BenchUser[]> {
  const password = `bench ${randomBytes(12).toString('base64url')} pass`
  const emailOf = (index: number) => `bench-user-${index}@bench.example.com`
  const hasher = createPasswordHasher({ cost: BENCH_BCRYPT_COST, concurrency: 1, maxQueue: 1 })
  const passwordHash = await hasher.hash(password).finally(() => hasher.close())
  const ids = Array.from({ length: count }, () => uuidv7())
  await db.batch(
    "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, 'user', NOW(3), NOW(3))",
    ids.map((id, i) => [id, emailOf(i), passwordHash]),
  )
  const users: BenchUser[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      const email = emailOf(index)
      users[index] = { id: ids[index] as string, email, role: 'user', password, accessToken: await logIn(baseUrl, email, password) }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return users
}
