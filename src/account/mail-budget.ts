import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'

export type MailFlow = 'verify_email' | 'password_reset' | 'email_change'

/**
 * How many mails one address gets from one flow per hour. Over the budget a flow sends nothing and still
 * answers as if it had: the limit stops mail bombing without telling anyone whether the address has an
 * account. Shared through Redis when configured, falling back to process memory while it is unreachable.
 */
export function createMailBudget(options: { perHour: number; redis?: Redis }) {
  const memory = new RateLimiterMemory({ keyPrefix: 'mail-budget', points: options.perHour, duration: 3600 })
  const limiter = options.redis
    ? new RateLimiterRedis({
        storeClient: options.redis,
        keyPrefix: 'jwt-auth-api:mail-budget',
        points: options.perHour,
        duration: 3600,
        insuranceLimiter: memory,
        rejectIfRedisNotReady: true,
      })
    : memory
  return {
    /** Takes one mail from the budget of (flow, address); false when it is spent. */
    async take(flow: MailFlow, address: string): Promise<boolean> {
      try {
        await limiter.consume(`${flow}:${address}`)
        return true
      } catch (error) {
        if (error instanceof RateLimiterRes) return false
        throw error
      }
    },
  }
}

export type MailBudget = ReturnType<typeof createMailBudget>
