import t from 'tap'
import { createAuthService, type AuthServiceDeps } from '../../src/auth/auth-service.js'
import { createPasswordCheck } from '../../src/auth/password-check.js'
import type { PasswordHasher } from '../../src/auth/password-hasher.js'
import type { UserRecord } from '../../src/users/user-repository.js'
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

const unused = () => Promise.reject(new Error('not used by this test'))

function serviceWith(passwords: Pick<PasswordHasher, 'hash' | 'verify' | 'verifyDummy'>) {
  const user: UserRecord = {
    id: 'u1',
    email: 'ada@example.com',
    passwordHash: 'v1:x',
    role: 'user',
    createdAt: new Date(),
    sessionEpoch: 0,
    emailVerifiedAt: null,
    disabledAt: null,
  }
  const deps: AuthServiceDeps = {
    users: {
      findByEmail: async (email) => (email === user.email ? user : null),
      bumpSessionEpoch: async () => undefined,
      lockById: unused,
    },
    revocations: { refreshStateOf: unused, recordRotation: unused, findRotation: unused, revokeFamily: unused },
    sessions: { create: unused, hasDevice: unused, deviceOf: unused },
    events: { record: unused },
    detachedEvents: { write: () => undefined, once: () => undefined },
    outbox: { enqueue: unused },
    mailQueued: () => undefined,
    transaction: unused,
    checkPassword: createPasswordCheck({
      users: { upgradePasswordHash: async () => undefined },
      passwords,
      throttle: { begin: async () => ({ succeeded: async () => undefined }) },
    }),
    issuer: { issueAccess: async () => ({ token: 'access', expiresIn: 900 }), issueRefresh: async () => 'refresh' },
    verifier: { verifyRefresh: unused },
    clock: new ManualClock(),
    lifetimes: { refreshTtlSeconds: 86_400, rememberMeTtlSeconds: 2_592_000, reuseGraceSeconds: 10, refreshIdleTimeoutSeconds: 604_800 },
    loginRequiresVerifiedEmail: false,
    notifyNewDevice: false,
  }
  return createAuthService(deps)
}

t.test('login spends one full password check whether or not the account exists', async (t) => {
  const { hasher, calls } = recordingHasher()
  const auth = serviceWith(hasher)
  await t.rejects(auth.login({ email: 'ADA@example.com ', password: 'nope', rememberMe: false, caller: { ip: '192.0.2.1' } }), { code: 'invalid_credentials' })
  await t.rejects(auth.login({ email: 'ghost@example.com', password: 'nope', rememberMe: false, caller: { ip: '192.0.2.1' } }), { code: 'invalid_credentials' })
  t.same(calls, ['verify', 'verifyDummy'], 'one bcrypt comparison each: a real one, then one against the dummy hash')
})
