import { Redis } from 'ioredis'
import type { TokenSubject } from './token-minter.js'

// The Redis here is shared with other users of the machine: everything the bench writes has this prefix
// (passed to the server as BENCH_REDIS_PREFIX) and is deleted when the bench ends.
export const REDIS_SESSION_PREFIX = 'jwt-bench:session:'
const BATCH = 10_000
const SESSION_TTL_SECONDS = 86_400

export function openRedis(url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'): Redis {
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
}

export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server')
  return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
}

type Pipeline = ReturnType<Redis['pipeline']>

async function inBatches(redis: Redis, keys: string[], write: (pipeline: Pipeline, key: string, index: number) => void) {
  for (let start = 0; start < keys.length; start += BATCH) {
    const pipeline = redis.pipeline()
    keys.slice(start, start + BATCH).forEach((key, offset) => write(pipeline, key, start + offset))
    await pipeline.exec()
  }
}

/** Django's cache session backend: one key per session holding its data, expiring with the session. */
export async function fillRedisSessions(redis: Redis, keys: string[], users: TokenSubject[]): Promise<void> {
  if (users.length === 0) throw new Error('no users to put in sessions')
  await inBatches(redis, keys, (pipeline, key, index) => {
    const { id, email, role } = users[index % users.length] as TokenSubject
    pipeline.set(REDIS_SESSION_PREFIX + key, JSON.stringify({ id, email, role, emailVerified: false }), 'EX', SESSION_TTL_SECONDS)
  })
}

export async function deleteRedisSessions(redis: Redis, keys: string[]): Promise<void> {
  await inBatches(redis, keys, (pipeline, key) => pipeline.unlink(REDIS_SESSION_PREFIX + key))
}
