import { randomBytes } from 'node:crypto'
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

async function registerAndLogIn(baseUrl: string, index: number): Promise<BenchUser> {
  const email = `bench-user-${index}@bench.example.com`
  // Random, so the password-strength check has nothing to object to.
  const password = `bench ${randomBytes(12).toString('base64url')} pass`
  const registered = await post(baseUrl, '/auth/register', { email, password })
  if (registered.status !== 201) {
    throw new Error(`register answered ${registered.status}: ${JSON.stringify(registered.json)}`)
  }
  const login = await post(baseUrl, '/auth/login', { email, password })
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${JSON.stringify(login.json)}`)
  return {
    id: String(registered.json.id),
    email,
    role: registered.json.role === 'admin' ? 'admin' : 'user',
    password,
    accessToken: String(login.json.accessToken),
  }
}

/**
 * Registers and logs in `count` users through the API, as clients would. A few at a time: the server
 * runs bcrypt on a bounded queue and sheds the excess with 503, which setup must not trigger.
 */
export async function createBenchUsers(baseUrl: string, count: number, concurrency = 4): Promise<BenchUser[]> {
  const users: BenchUser[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      users[index] = await registerAndLogIn(baseUrl, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return users
}
