import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { ProblemError } from '../errors/problem.js'
import { clientAddressKey } from '../http/client-address.js'

export interface LoginThrottleOptions {
  /** Password checks allowed per account and client address together, per window. */
  perAccount: number
  /** Password checks allowed per account from all addresses together, per window (a short lock). */
  perAccountAllAddresses: number
  /** Password checks allowed per client address across all accounts (credential stuffing), per window. */
  perIp: number
  windowSeconds: number
  /** Shared counters for several instances; in-process memory without it. */
  redis?: Redis
}

/** A password check that has been paid for; a correct password gives the points back. */
export interface LoginAttempt {
  succeeded(): Promise<void>
}

/**
 * Limits password checks (rate-limiter-flexible). The point is consumed *before* the bcrypt work, so
 * concurrent guesses cannot all slip in under the limit while the first ones are still being checked; a
 * correct password gives it back. Addresses count by clientAddressKey (IPv6 by /64). Three budgets: per
 * (account, address), per address across accounts, and per account across all addresses, the last one
 * a temporary lock that stops an attacker with many addresses (SECURITY.md, "Anti-automation", has the
 * trade-off). With Redis, each counter falls back to process memory while Redis is unreachable, so an
 * outage weakens the limit but never blocks logins.
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
  const byAccountAndIp = limiter('login-attempts-account-ip', options.perAccount)
  const byAccount = limiter('login-attempts-account', options.perAccountAllAddresses)
  const byIp = limiter('login-attempts-ip', options.perIp)

  return {
    /** Pays for one password check, or throws 429 rate_limited when any budget is spent. */
    async begin(email: string, ip: string): Promise<LoginAttempt> {
      const address = clientAddressKey(ip)
      const budgets: [RateLimiterAbstract, string][] = [
        [byAccountAndIp, `${email}|${address}`],
        [byAccount, email],
        [byIp, address],
      ]
      const results = await Promise.allSettled(budgets.map(([budget, key]) => budget.consume(key)))
      const refused = results.filter((result) => result.status === 'rejected').map((result) => result.reason as unknown)
      if (refused.length > 0) {
        // Points taken from the budgets that had room are given back: a refused attempt checks nothing.
        await Promise.all(budgets.map(([budget, key], i) => (results[i]?.status === 'fulfilled' ? budget.reward(key, 1) : undefined)))
        const failure = refused.find((reason) => !(reason instanceof RateLimiterRes))
        if (failure) throw failure
        const waitMs = Math.max(...refused.map((reason) => (reason as RateLimiterRes).msBeforeNext))
        const seconds = Math.max(1, Math.ceil(waitMs / 1000))
        throw new ProblemError('rate_limited', `Too many failed logins; retry in ${seconds} seconds`, { retryAfterSeconds: seconds })
      }
      return {
        async succeeded() {
          await Promise.all([byAccountAndIp.delete(`${email}|${address}`), byAccount.reward(email, 1), byIp.reward(address, 1)])
        },
      }
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
