import t from 'tap'
import { createAuthService, familyCutoffId, type AuthServiceDeps } from '../../src/auth/auth-service.js'
import type { PasswordHasher } from '../../src/auth/password-hasher.js'
import { ManualClock } from '../helpers/clock.js'

/** Records which password checks the service asks for; answers "wrong password" to all of them. */
function recordingHasher() {
  const calls: string[] = []
  const hasher: Pick<PasswordHasher, 'hash' | 'verify' | 'verifyDummy'> = {
    hash: async () => 'v1:hash',
    verify: async () => {
      calls.push('verify')
      return { ok: false, needsRehash: false }
    },
    verifyDummy: async () => {
      calls.push('verifyDummy')
    },
  }
  return { hasher, calls }
}

function serviceWith(passwords: Pick<PasswordHasher, 'hash' | 'verify' | 'verifyDummy'>) {
  const user = { id: 'u1', email: 'ada@example.com', passwordHash: 'v1:x', role: 'user' as const, createdAt: new Date() }
  const deps = {
    users: {
      findByEmail: async (email: string) => (email === user.email ? user : null),
      findById: async () => user,
      create: async () => user,
      updatePasswordHash: async () => undefined,
    },
    passwords,
    throttle: { check: async () => undefined, recordFailure: async () => undefined, recordSuccess: async () => undefined },
    clock: new ManualClock(),
    lifetimes: { refreshTtlSeconds: 86_400, rememberMeTtlSeconds: 2_592_000, reuseGraceSeconds: 10 },
  } as unknown as AuthServiceDeps
  return createAuthService(deps)
}

t.test('login spends one full password check whether or not the account exists', async (t) => {
  const { hasher, calls } = recordingHasher()
  const auth = serviceWith(hasher)
  await t.rejects(auth.login({ email: 'ADA@example.com ', password: 'nope', rememberMe: false, ip: '192.0.2.1' }), { code: 'invalid_credentials' })
  await t.rejects(auth.login({ email: 'ghost@example.com', password: 'nope', rememberMe: false, ip: '192.0.2.1' }), { code: 'invalid_credentials' })
  t.same(calls, ['verify', 'verifyDummy'], 'one bcrypt comparison each: a real one, then one against the dummy hash')
})

t.test('familyCutoffId sorts above every UUIDv7 of its millisecond and below the next', async (t) => {
  const { v7 } = await import('uuid')
  const ms = Date.UTC(2026, 10, 25, 9)
  const cutoff = familyCutoffId(ms)
  t.match(cutoff, /^[0-9a-f]{8}-[0-9a-f]{4}-7fff-bfff-ffffffffffff$/)
  const same = Array.from({ length: 1000 }, () => v7({ msecs: ms }))
  const later = Array.from({ length: 1000 }, () => v7({ msecs: ms + 1 }))
  t.ok(same.every((id) => id < cutoff), 'ids of the same millisecond sort below')
  t.ok(later.every((id) => id > cutoff), 'ids of the next millisecond sort above')
  t.ok(v7({ msecs: ms - 1 }) < cutoff)
})
