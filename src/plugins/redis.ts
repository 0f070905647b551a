import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'

declare module 'fastify' {
  interface FastifyInstance {
    /** Shared state for several instances (rate-limit counters); undefined in a single-process setup. */
    redis: Redis | undefined
  }
}

/**
 * Our own rather than @fastify/redis: that plugin holds start-up until Redis answers (its registration
 * waits for 'ready' and fails at the plugin timeout), while this service must start, and keep limiting
 * in process memory, with Redis down.
 */
async function redis(app: FastifyInstance, options: { url?: string }) {
  if (!options.url) {
    app.decorate('redis', undefined)
    return
  }
  const client = new Redis(options.url, {
    // Fail fast while Redis is down instead of queueing commands: the limiters fall back or let through.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    lazyConnect: false,
  })
  client.on('error', (error) => app.log.warn({ err: error }, 'redis error'))
  app.decorate('redis', client)
  // Start with the connection up when Redis is there; without this the first requests would find it still
  // connecting and go uncounted. Redis being down delays start-up by a second, and no more.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1000)
    client.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  app.addHook('onClose', async () => {
    client.disconnect()
  })
}

export default fp(redis, { name: 'redis' })
