import { randomBytes } from 'node:crypto'
import type { Connection } from 'mariadb'
import type { Redis } from 'ioredis'
import { clearDenylist, countExpiredDenylist, createSessionTable, fillDenylist, sessionKeys } from './bench-database.js'
import { deleteRedisSessions, fillRedisSessions } from './redis-sessions.js'
import type { TokenMinter } from './token-minter.js'
import { createBenchUsers, type BenchUser } from './users.js'

export const USER_COUNT = 200
export const SESSION_COUNT = 100_000
// Distinct cold tokens per cache entry: a token comes round again only after six times the cache has
// been refilled, so no request of the cold scenario can be a cache hit.
const COLD_TOKENS_PER_CACHE_ENTRY = 6
const MIN_COLD_TOKENS = 60_000
export const TOKEN_TTL_SECONDS = 3600
const REFRESH_TTL_SECONDS = 86_400

export interface FixtureDeps {
  /** The server running now: users are registered through whichever server first needs them. */
  baseUrl: () => string
  db: Connection
  redis: Redis
  minter: TokenMinter
  minterAlgorithm: string
  accessCacheSize: number
  /** The users of another fixture set: one set of users in the database, whichever key signs. */
  users?: () => Promise<BenchUser[]>
  /** Records how long a setup step took, for the report. */
  timed: <T>(step: string, work: () => Promise<T>) => Promise<T>
}

const memo = <T>(make: () => Promise<T>) => {
  let value: Promise<T> | undefined
  return () => (value ??= make())
}

const thousands = (count: number) => count.toLocaleString('en')

/** The i-th of a list, round robin. */
const nth = <T>(items: T[], index: number) => items[index % items.length] as T

/**
 * Everything scenarios need, built on first use only: `--only me-warm` does not wait for 100,000
 * sessions or a million denylist rows.
 */
export function createFixtures(deps: FixtureDeps) {
  const { timed, minter } = deps
  let redisKeys: string[] = []

  // Shared users keep the access tokens of the server that logged them in: only /me warm sends those, and
  // it runs on the default servers, which come first and share one key.
  const users =
    deps.users ??
    memo(() =>
      timed(`create ${USER_COUNT} users and log each in through the API`, () =>
        createBenchUsers(deps.baseUrl(), deps.db, USER_COUNT),
      ),
    )

  const coldTokenCount = Math.max(MIN_COLD_TOKENS, COLD_TOKENS_PER_CACHE_ENTRY * deps.accessCacheSize)
  const coldTokens = memo(async () => {
    const subjects: BenchUser[] = await users()
    return timed(`mint ${thousands(coldTokenCount)} access tokens (${deps.minterAlgorithm})`, async () =>
      Array.from({ length: coldTokenCount }, (_, index) => minter.access(nth(subjects, index), TOKEN_TTL_SECONDS)),
    )
  })

  const salt = `${randomBytes(8).toString('hex')}:`
  const allSessionKeys = memo(async () => sessionKeys(salt, SESSION_COUNT))

  const mariadbSessions = memo(async () => {
    await users()
    await timed(`fill the MariaDB sessions table (${thousands(SESSION_COUNT)} rows)`, () =>
      createSessionTable(deps.db, salt, SESSION_COUNT),
    )
    return allSessionKeys()
  })

  const redisSessions = memo(async () => {
    const subjects = await users()
    const keys = await allSessionKeys()
    await timed(`fill Redis (${thousands(SESSION_COUNT)} session keys)`, () => fillRedisSessions(deps.redis, keys, subjects))
    redisKeys = keys
    return keys
  })

  return {
    users,
    coldTokenCount,
    coldTokens,
    mariadbSessions,
    redisSessions,

    /** Fresh refresh tokens, each of a login of its own, for users that exist. Never reused across runs. */
    async refreshTokens(count: number): Promise<string[]> {
      const subjects = await users()
      return Array.from({ length: count }, (_, index) => minter.refresh(nth(subjects, index).id, REFRESH_TTL_SECONDS))
    },

    clearDenylist: () => clearDenylist(deps.db),

    async fillDenylist(rows: number): Promise<void> {
      await users()
      await timed(`fill revoked_tokens (${thousands(rows)} rows)`, () => fillDenylist(deps.db, rows))
    },

    /** `rows` expired denylist rows for the prune to delete; filled again only once a prune has taken them. */
    async expiredDenylist(rows: number): Promise<void> {
      await users()
      if ((await countExpiredDenylist(deps.db)) >= rows) return
      await timed(`fill revoked_tokens (${thousands(rows)} expired rows)`, () => fillDenylist(deps.db, rows, 'expired'))
    },

    countExpiredDenylist: () => countExpiredDenylist(deps.db),

    async cleanUp(): Promise<void> {
      if (redisKeys.length > 0) await deleteRedisSessions(deps.redis, redisKeys)
      redisKeys = []
    },
  }
}

export type Fixtures = ReturnType<typeof createFixtures>
