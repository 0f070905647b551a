import type { UserRecord, UserRepository } from '../users/user-repository.js'
import type { LoginThrottle } from './login-throttle.js'
import type { PasswordHasher } from './password-hasher.js'

export interface PasswordCheckDeps {
  users: Pick<UserRepository, 'upgradePasswordHash'>
  passwords: Pick<PasswordHasher, 'hash' | 'verify' | 'verifyDummy'>
  throttle: Pick<LoginThrottle, 'begin'>
}

/** The email and its local part: a password made of them is easy to guess for this account. */
export const personalWords = (email: string) => [email, email.split('@')[0] ?? email]

/**
 * Checks a password against a stored hash under the login limits of (email, ip): login, and every
 * action that asks for the current password. The attempt is paid for before any bcrypt work, so a
 * blocked client costs nothing and concurrent guesses cannot overrun the limit; a correct password is
 * refunded. An unknown account costs the same bcrypt as a known one.
 */
export function createPasswordCheck(deps: PasswordCheckDeps) {
  const { users, passwords, throttle } = deps
  return async function checkPassword(email: string, ip: string, password: string, user: UserRecord | null): Promise<boolean> {
    const attempt = await throttle.begin(email, ip)
    if (!user) {
      await passwords.verifyDummy(password)
      return false
    }
    const { ok, needsRehash } = await passwords.verify(password, user.passwordHash)
    if (!ok) return false
    await attempt.succeeded()
    if (needsRehash) await users.upgradePasswordHash(user.id, user.passwordHash, await passwords.hash(password))
    return true
  }
}

export type PasswordCheck = ReturnType<typeof createPasswordCheck>
