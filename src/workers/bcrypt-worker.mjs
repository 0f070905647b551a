// Runs in piscina worker threads (see src/auth/password-hasher.ts). Plain JavaScript so that a worker
// needs no TypeScript loader in development. The thread lowers its own scheduling priority (on Linux the
// nice value belongs to the thread), so bcrypt gets only the CPU the event loop leaves over: a burst of
// logins slows logins down, not token checks.
import { setPriority } from 'node:os'
import bcrypt from 'bcrypt'

try {
  setPriority(10)
} catch {
  // Not permitted here; bcrypt then runs at normal priority, still off the event loop.
}

/** @param {{ input: string, cost: number }} task */
export function hash({ input, cost }) {
  return bcrypt.hashSync(input, cost)
}

/** @param {{ input: string, hash: string }} task */
export function compare({ input, hash }) {
  return bcrypt.compareSync(input, hash)
}
