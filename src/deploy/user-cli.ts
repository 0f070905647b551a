import { parseArgs } from 'node:util'
import { read } from 'read'
import { createAdminService, type Actor, type AdminUser } from '../admin/admin-service.js'
import { createUserDirectoryRepository } from '../admin/user-directory-repository.js'
import { createPasswordHasher } from '../auth/password-hasher.js'
import { createPasswordStrengthChecker, WeakPasswordError } from '../auth/password-strength.js'
import { systemClock } from '../clock.js'
import { ConfigError, loadConfig, loadDotEnv } from '../config.js'
import { openDatabase } from '../db/prisma.js'
import { ProblemError } from '../errors/problem.js'
import { createAuthEventRepository } from '../events/auth-event-repository.js'
import { createSessionRepository } from '../sessions/session-repository.js'
import { createUserRepository } from '../users/user-repository.js'

const USAGE = `usage: npm run user:create -- --email EMAIL [--role user|admin] [--password-stdin]
       npm run user:role -- --email EMAIL --role user|admin

  create   a user, with the password typed at a prompt (not echoed), or read from standard input with
           --password-stdin (for scripts and CI: printf '%s' "$PASSWORD" | npm run user:create -- ...).
           The same strength check and hashing as registration; the address counts as verified.
  role     change a user's role. Demoting the last enabled admin is refused.

Both write a security event with actor "cli", and print the user.`

const CLI: Actor = { kind: 'cli' }

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  // One trailing newline is the shell's (echo), not the password's.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
}

async function passwordOf(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readStdin()
  if (!process.stdin.isTTY) throw new UsageError('no terminal to prompt on: pass --password-stdin and pipe the password in')
  const first = await read({ prompt: 'Password: ', silent: true, replace: '' })
  const again = await read({ prompt: 'Same password again: ', silent: true, replace: '' })
  if (first !== again) throw new UsageError('the two passwords differ')
  return first
}

class UsageError extends Error {}

const roleOf = (value: string | undefined, fallback?: 'user' | 'admin'): 'user' | 'admin' => {
  const role = value ?? fallback
  if (role !== 'user' && role !== 'admin') throw new UsageError('--role must be user or admin')
  return role
}

const describe = (user: AdminUser) => `${user.email} (id ${user.id}): role ${user.role}${user.disabled ? ', disabled' : ''}`

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  const [command] = positionals
  if (values.help || (command !== 'create' && command !== 'role')) {
    console.log(USAGE)
    return values.help ? 0 : 2
  }
  if (!values.email) throw new UsageError('--email is required')
  const role = command === 'create' ? roleOf(values.role, 'user') : roleOf(values.role)
  const password = command === 'create' ? await passwordOf(values['password-stdin'] ?? false) : ''

  loadDotEnv()
  const config = loadConfig()
  const db = openDatabase(config.database)
  const passwords = createPasswordHasher({ cost: config.passwords.bcryptCost, concurrency: 1, maxQueue: 1 })
  const strength = createPasswordStrengthChecker({ minScore: config.passwords.minScore })
  const admin = createAdminService({
    directory: createUserDirectoryRepository(db.prisma),
    users: createUserRepository(db.prisma),
    sessions: createSessionRepository(db.prisma),
    events: createAuthEventRepository(db.prisma),
    transaction: (work, options) => db.transaction(work, options),
    passwords,
    strength,
    clock: systemClock,
    refreshIdleTimeoutSeconds: config.jwt.refreshIdleTimeoutSeconds,
  })
  try {
    if (command === 'create') {
      console.log(`Created ${describe(await admin.createUser(CLI, { email: values.email, password, role }))}`)
    } else {
      const user = await admin.updateUser(CLI, await admin.idOfEmail(values.email), { role })
      console.log(`Now ${describe(user)}`)
    }
    return 0
  } finally {
    await Promise.all([strength.close(), passwords.close(), db.close()])
  }
}

try {
  process.exitCode = await main()
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`)
    process.exitCode = 2
  } else if (error instanceof ProblemError || error instanceof ConfigError) {
    console.error(error.message)
    process.exitCode = 1
  } else if (error instanceof WeakPasswordError) {
    console.error(`The password ${error.message}`)
    process.exitCode = 1
  } else {
    const { code, message } = error as { code?: string; message?: string }
    console.error(`Database error${code ? ` (${code})` : ''}: ${message ?? String(error)}`)
    process.exitCode = 1
  }
}
