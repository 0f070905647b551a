import { TOKEN_TTL_SECONDS } from './fixtures.js'
import { REDIS_SESSION_PREFIX } from './redis-sessions.js'

/** The production minimum, for a faster setup (the production default is 12). */
export const BENCH_BCRYPT_COST = 10

/**
 * The bench server's environment: production settings (as `npm start` reads them) except where a
 * note says why. The signing key is added at start, and kept out of the report.
 */
export function benchServerEnv(databaseUrl: string): { env: Record<string, string>; notes: string[] } {
  return {
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      MIGRATE_ON_START: 'true',
      PRUNE_INTERVAL_SECONDS: '0',
      BCRYPT_COST: String(BENCH_BCRYPT_COST),
      ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
      // Every bench request comes from 127.0.0.1: the per-IP budget of /auth/* would turn refreshes into 429s.
      AUTH_REQUESTS_PER_MINUTE: '1000000000',
      // No scenario queues mail (users are written directly); production requires both to be set.
      SMTP_URL: 'smtp://127.0.0.1:2525',
      APP_URL: 'https://app.example.com',
      MAIL_POLL_INTERVAL_MS: '0',
      BENCH_REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
      BENCH_REDIS_PREFIX: REDIS_SESSION_PREFIX,
    },
    notes: [
      `BCRYPT_COST=${BENCH_BCRYPT_COST} (the production minimum, for a faster setup; production default is 12)`,
      'users are written to the database directly (one hash from the project\'s hasher) and logged in through the API: registering them through the API would leave the password-strength worker in memory during the /me scenarios',
      `ACCESS_TOKEN_TTL_SECONDS=${TOKEN_TTL_SECONDS}, so setup's tokens outlive a long run (no per-request work changes)`,
      'AUTH_REQUESTS_PER_MINUTE raised: all bench traffic comes from one address',
    ],
  }
}
