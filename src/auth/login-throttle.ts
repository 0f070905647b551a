import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { ProblemError } from '../errors/problem.js'

export interface LoginThrottleOptions {
  /** Failed logins allowed per account and client IP together, per window. */
  perAccount: number
  /** Failed logins allowed per client IP across all accounts (credential stuffing), per window. */
  perIp: number
  windowSeconds: number
  /** Shared counters for several instances; in-process memory without it. */
  redis?: Redis
}

/**
 * Counts failed logins (rate-limiter-flexible), the pattern its authors document for login endpoints:
 * check before the password is looked at, count a failure after, forget the account's count after a
 * success. A blocked client gets 429 without any bcrypt work. With Redis, each counter falls back to
 * process memory while Redis is unreachable, so an outage weakens the limit but never blocks logins.
 */
export function createLoginThrottle(options: LoginThrottleOptions) {
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix: name, points, duration: options.windowSeconds })
    if (!options.redis) return memory
    return new RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: `jwt-auth-api:${name}`,
      points,
      duration: options.windowSeconds,
      insuranceLimiter: memory,
      rejectIfRedisNotReady: true,
    })
  }
  const byAccount = limiter('login-failures-account-ip', options.perAccount)
  const byIp = limiter('login-failures-ip', options.perIp)
  const accountKey = (email: string, ip: string) => `${email}|${ip}`

  return {
    async check(email: string, ip: string): Promise<void> {
      const [account, address] = await Promise.all([byAccount.get(accountKey(email, ip)), byIp.get(ip)])
      const waits = [
        account && account.consumedPoints >= options.perAccount ? account.msBeforeNext : 0,
        address && address.consumedPoints >= options.perIp ? address.msBeforeNext : 0,
      ]
      const waitMs = Math.max(...waits)
      if (waitMs <= 0) return
      const seconds = Math.max(1, Math.ceil(waitMs / 1000))
      throw new ProblemError('rate_limited', `Too many failed logins; retry in ${seconds} seconds`, {
        headers: { 'retry-after': String(seconds) },
      })
    },
    async recordFailure(email: string, ip: string): Promise<void> {
      await Promise.all([byAccount.penalty(accountKey(email, ip), 1), byIp.penalty(ip, 1)])
    },
    async recordSuccess(email: string, ip: string): Promise<void> {
      await byAccount.delete(accountKey(email, ip))
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
