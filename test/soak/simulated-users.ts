import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { tokenPairOf, type Answer, type ApiClient, type TokenPair } from './api-client.js'
import { refreshClaimsOf } from './records.js'

/** The login a simulated user currently holds. */
export interface Session {
  accessToken: string
  refreshToken: string
  jti: string
  fid: string
}

/** A refresh token the user no longer uses: already rotated, or from a login that has ended. */
export interface SpentToken {
  token: string
  jti: string
  fid: string
  /** Epoch ms when the client learned it was spent. */
  spentAt: number
  why: 'rotated' | 'ended'
}

export interface SimUser {
  index: number
  email: string
  password: string
  session?: Session
  /** Why the last session ended, until the user logs in again. */
  endedBy?: string
  spent: SpentToken[]
  /** A worker is using this user: one operation at a time per user keeps its tokens consistent. */
  busy: boolean
}

export function sessionOf(pair: TokenPair): Session {
  const { jti, fid } = refreshClaimsOf(pair.refreshToken)
  return { ...pair, jti, fid }
}

export interface SetupSummary {
  users: number
  ms: number
  /** 503s during setup (bcrypt queue full), retried. */
  retries: number
}

const SETUP_ATTEMPTS = 10

/** Retries a setup call that the server shed with 503; anything else but `expected` is fatal. */
async function untilAnswered(call: () => Promise<Answer>, expected: number, what: string, counter: { retries: number }) {
  for (let attempt = 1; ; attempt++) {
    const answer = await call()
    if (answer.status === expected) return answer
    if (answer.status !== 503 || attempt === SETUP_ATTEMPTS) {
      throw new Error(`${what} answered ${answer.status} ${answer.code ?? ''} during setup`)
    }
    counter.retries++
    await sleep(250 * attempt)
  }
}

async function registerAndLogIn(api: ApiClient, index: number, counter: { retries: number }): Promise<SimUser> {
  const email = `soak-user-${index}@soak.example.com`
  // Random, so the password-strength check has nothing to object to.
  const password = `soak ${randomBytes(12).toString('base64url')} pass`
  await untilAnswered(() => api.register(email, password), 201, 'register', counter)
  const login = await untilAnswered(() => api.login(email, password), 200, 'login', counter)
  const pair = tokenPairOf(login)
  if (!pair) throw new Error('login answered 200 without a token pair')
  return { index, email, password, session: sessionOf(pair), spent: [], busy: false }
}

/**
 * Registers and logs in `count` users through the API, a few at a time: the server runs bcrypt one hash
 * per spare core and sheds a longer queue with 503.
 */
export async function createUsers(
  api: ApiClient,
  count: number,
  concurrency: number,
  signal: AbortSignal,
): Promise<{ users: SimUser[]; summary: SetupSummary }> {
  const started = Date.now()
  const counter = { retries: 0 }
  const users: SimUser[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count && !signal.aborted) {
      const index = next++
      users[index] = await registerAndLogIn(api, index, counter)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (signal.aborted) throw new Error('interrupted')
  return { users, summary: { users: count, ms: Date.now() - started, retries: counter.retries } }
}
