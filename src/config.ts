import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { MAX_CLOCK_TOLERANCE_SECONDS } from './tokens/claims.js'
import { loadRefreshKeySet, type RefreshKeyMaterial, type RefreshKeySet } from './tokens/refresh-keys.js'
import {
  DEFAULT_SIGNING_ALGORITHM,
  KeySetError,
  loadKeySet,
  SIGNING_ALGORITHMS, type KeyMaterial, type KeySet,
} from './tokens/signing-keys.js'

const seconds = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback)
const milliseconds = (fallback: number) => z.coerce.number().int().min(1).max(60_000).default(fallback)
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes')
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
  .default([])

/** What the db:* commands need: the database settings alone, no signing keys. */
const databaseEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z
    .url({ protocol: /^(mysql|mariadb)$/, message: 'expected mysql://user:password@host:port/database' })
    .default('mysql://root@127.0.0.1:3306/jwt_api'),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  DB_CONNECT_TIMEOUT_MS: milliseconds(1000),
  DB_ACQUIRE_TIMEOUT_MS: milliseconds(1500),
  DB_OPERATION_TIMEOUT_MS: milliseconds(3000),
  MIGRATE_ON_START: flag.optional(),
  PRUNE_INTERVAL_SECONDS: seconds(3600, 0),
  // Security events older than this are deleted by the prune job.
  AUTH_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  // A real Prisma schema engine, for `prisma migrate deploy`; without one the built-in applier runs.
  PRISMA_SCHEMA_ENGINE_BINARY: z.string().optional(),
})

/** Mail delivery: what the server and `npm run mail:deliver` need. */
const mailEnvFields = {
  // Unset in development and tests: mails are written to the log instead (links included).
  SMTP_URL: z.url({ protocol: /^smtps?$/, message: 'expected smtp://user:password@host:587 or smtps://…:465' }).optional(),
  MAIL_FROM: z.string().min(3).max(254).default('jwt-auth-api <no-reply@localhost>'),
  // The front end's base URL: links in mails point at its /verify-email, /reset-password and /confirm-email pages.
  APP_URL: z.url({ protocol: /^https?$/, message: 'expected https://app.example.com' }).optional(),
  MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  // How often a server process looks for mail queued by others; 0 runs no delivery worker in the process.
  MAIL_POLL_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
}

const mailEnvSchema = databaseEnvSchema.extend(mailEnvFields)

const envSchema = databaseEnvSchema.extend({
  ...mailEnvFields,
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Worker processes of `npm run start:cluster`; one per core when unset.
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),

  JWT_ISSUER: z.string().min(1).default('jwt-auth-api'),
  JWT_AUDIENCE: z.string().min(1).default('jwt-auth-api'),
  JWT_ALGORITHM: z.enum(SIGNING_ALGORITHMS).default(DEFAULT_SIGNING_ALGORITHM),
  JWT_PRIVATE_KEY: z.string().optional(),
  JWT_PRIVATE_KEY_FILE: z.string().optional(),
  JWT_SECRET: z.string().optional(),
  JWT_SECRET_FILE: z.string().optional(),
  JWT_KEY_ID: z.string().min(1).max(128).optional(),
  JWT_VERIFY_KEYS: z.string().optional(),
  JWT_VERIFY_KEYS_FILE: z.string().optional(),
  // Refresh tokens are HS256 under a secret of their own, never published (src/tokens/refresh-keys.ts).
  REFRESH_TOKEN_SECRET: z.string().optional(),
  REFRESH_TOKEN_SECRET_FILE: z.string().optional(),
  REFRESH_TOKEN_PREVIOUS_SECRETS: z.string().optional(),
  REFRESH_TOKEN_PREVIOUS_SECRETS_FILE: z.string().optional(),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(MAX_CLOCK_TOLERANCE_SECONDS).default(5),
  // How long verifiers and CDNs may cache the JWK Set; a new key must be published at least this long
  // before it signs (README, "Rotating the signing key"). At most a day, so a retired key cannot linger.
  JWKS_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),

  ACCESS_TOKEN_TTL_SECONDS: seconds(900),
  REFRESH_TOKEN_TTL_SECONDS: seconds(86_400),
  REMEMBER_ME_TTL_SECONDS: seconds(2_592_000),
  REFRESH_REUSE_GRACE_SECONDS: seconds(10, 0),
  REFRESH_IDLE_TIMEOUT_SECONDS: seconds(604_800, 60),

  ACCESS_TOKEN_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),

  BCRYPT_COST: z.coerce.number().int().min(4).max(20).default(12),
  PASSWORD_MIN_SCORE: z.coerce.number().int().min(0).max(4).default(3),

  LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  LOGIN_FAILURES_PER_ACCOUNT_ALL_IPS: z.coerce.number().int().min(1).default(50),
  LOGIN_FAILURES_PER_IP: z.coerce.number().int().min(1).default(100),
  LOGIN_FAILURE_WINDOW_SECONDS: seconds(900),
  AUTH_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(300),
  ADMIN_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'expected redis://host:port' }).optional(),
  TRUST_PROXY: z.string().default('false'),

  CORS_ORIGINS: list,
  COOKIE_SECURE: flag.default(true),

  VERIFY_EMAIL_TTL_SECONDS: seconds(86_400, 60),
  PASSWORD_RESET_TTL_SECONDS: seconds(1800, 60),
  EMAIL_CHANGE_TTL_SECONDS: seconds(86_400, 60),
  LOGIN_REQUIRES_VERIFIED_EMAIL: flag.default(false),
  // Mails one address gets per flow (verification, reset, email change) and hour; more are dropped silently.
  MAILS_PER_ADDRESS_PER_HOUR: z.coerce.number().int().min(1).max(100).default(3),
  // Forgot-password and resend answer no sooner than this, whether or not the address has an account.
  MAIL_REQUEST_MIN_RESPONSE_MS: z.coerce.number().int().min(0).max(5000).default(250),
  // Mail the user when they sign in from a device label none of their kept sessions has.
  NOTIFY_NEW_DEVICE: flag.default(false),
})

type Env = z.infer<typeof envSchema>

/** Every variable the server reads; .env.example and the README list the same set (a test checks). */
export const ENV_VARIABLES = Object.keys(envSchema.shape)

/** Loads ./.env if there is one; variables already set in the environment win. */
export function loadDotEnv(path = '.env'): void {
  try {
    process.loadEnvFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** Fastify's trustProxy: none, all, these addresses/CIDRs, or the first n hops. */
export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean)

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Reads `NAME` or the file named by `NAME_FILE` (the Docker/Kubernetes secrets convention). */
function secretFromEnv(
  env: Env,
  name: 'JWT_PRIVATE_KEY' | 'JWT_SECRET' | 'JWT_VERIFY_KEYS' | 'REFRESH_TOKEN_SECRET' | 'REFRESH_TOKEN_PREVIOUS_SECRETS',
  problems: string[],
) {
  const inline = env[name]
  const file = env[`${name}_FILE`]
  if (inline && file) {
    problems.push(`${name} and ${name}_FILE are both set; set only one`)
    return undefined
  }
  if (!file) return inline
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

function checkKeys(env: Env, problems: string[]): KeyMaterial {
  const algorithm = env.JWT_ALGORITHM
  const privateKey = secretFromEnv(env, 'JWT_PRIVATE_KEY', problems)
  const secret = secretFromEnv(env, 'JWT_SECRET', problems)
  const verifyKeys = secretFromEnv(env, 'JWT_VERIFY_KEYS', problems)
  const production = env.NODE_ENV === 'production'

  if (algorithm === 'HS256') {
    if (privateKey) problems.push('JWT_PRIVATE_KEY is for asymmetric algorithms; HS256 takes JWT_SECRET')
    if (secret !== undefined && Buffer.byteLength(secret) < 32) {
      problems.push('JWT_SECRET must be at least 32 bytes for HS256 (RFC 7518 §3.2)')
    }
    if (secret === undefined && production) {
      problems.push('JWT_SECRET (or JWT_SECRET_FILE) is required when NODE_ENV=production and JWT_ALGORITHM=HS256')
    }
  } else {
    if (secret) problems.push(`JWT_SECRET is only used with HS256; ${algorithm} takes JWT_PRIVATE_KEY`)
    if (privateKey === undefined && production) {
      problems.push(`JWT_PRIVATE_KEY (or JWT_PRIVATE_KEY_FILE) is required when NODE_ENV=production`)
    }
  }
  return { algorithm, privateKey, secret, keyId: env.JWT_KEY_ID, verifyKeys }
}

function checkRefreshKeys(env: Env, jwtSecret: string | undefined, problems: string[]): RefreshKeyMaterial {
  const secret = secretFromEnv(env, 'REFRESH_TOKEN_SECRET', problems)
  const previous = secretFromEnv(env, 'REFRESH_TOKEN_PREVIOUS_SECRETS', problems)
  if (secret === undefined && env.NODE_ENV === 'production') {
    problems.push('REFRESH_TOKEN_SECRET (or REFRESH_TOKEN_SECRET_FILE) is required when NODE_ENV=production')
  }
  // One secret for both would let a refresh token's MAC stand for an access token's, typ aside.
  if (secret !== undefined && secret === jwtSecret) problems.push('REFRESH_TOKEN_SECRET must differ from JWT_SECRET')
  const previousSecrets = (previous ?? '').split(',').map((item) => item.trim()).filter(Boolean)
  return { secret, previousSecrets }
}

/**
 * Which proxies may set X-Forwarded-For, as Fastify's trustProxy takes it: false (none: the socket's
 * address is the client), true (any), a hop count, or a list of addresses and CIDRs. Per-IP rate limits
 * are only as good as this setting.
 */
function parseTrustProxy(value: string): TrustProxy {
  if (value === 'false' || value === '') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    return (_address, hop) => hop < hops
  }
  return value.split(',').map((item) => item.trim()).filter(Boolean)
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const name = issue.path.join('.') || '(environment)'
  return `${name}: ${issue.message}`
}

function parseEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv): z.infer<S> {
  // An empty variable means "not set", as in most process managers' env files.
  const defined = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''))
  const parsed = schema.safeParse(defined)
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(formatIssue))
  return parsed.data
}

const databaseConfigOf = (env: z.infer<typeof databaseEnvSchema>) => ({
  url: env.DATABASE_URL,
  poolSize: env.DB_POOL_SIZE,
  connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
  acquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS,
  operationTimeoutMs: env.DB_OPERATION_TIMEOUT_MS,
  // Production migrates as a separate deploy step; development migrates on start.
  migrateOnStart: env.MIGRATE_ON_START ?? env.NODE_ENV !== 'production',
  pruneIntervalSeconds: env.PRUNE_INTERVAL_SECONDS,
  authEventRetentionDays: env.AUTH_EVENT_RETENTION_DAYS,
  schemaEngineBinary: env.PRISMA_SCHEMA_ENGINE_BINARY,
})

const DEVELOPMENT_APP_URL = 'http://127.0.0.1:5173'

const mailConfigOf = (env: z.infer<typeof mailEnvSchema>) => ({
  smtpUrl: env.SMTP_URL,
  from: env.MAIL_FROM,
  appUrl: (env.APP_URL ?? DEVELOPMENT_APP_URL).replace(/\/+$/, ''),
  maxAttempts: env.MAIL_MAX_ATTEMPTS,
  pollIntervalMs: env.MAIL_POLL_INTERVAL_MS,
})

/** Production sends real mail to real links: both have to be configured, not defaulted. */
function checkMail(env: z.infer<typeof mailEnvSchema>, problems: string[]) {
  if (env.NODE_ENV !== 'production') return
  if (!env.SMTP_URL) problems.push('SMTP_URL is required when NODE_ENV=production (smtp://user:password@host:587)')
  if (!env.APP_URL) problems.push('APP_URL is required when NODE_ENV=production (the front end that opens the links in mails)')
}

/** The database and mail settings: what `npm run mail:deliver` needs, without requiring signing keys. */
export function loadMailDeliveryConfig(source: NodeJS.ProcessEnv = process.env): Pick<Config, 'database' | 'mail'> {
  const env = parseEnv(mailEnvSchema, source)
  const problems: string[] = []
  checkMail(env, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  return { database: databaseConfigOf(env), mail: mailConfigOf(env) }
}

/** Only the database settings: what the db:* commands need, without requiring signing keys. */
export function loadDatabaseConfig(source: NodeJS.ProcessEnv = process.env): Config['database'] {
  return databaseConfigOf(parseEnv(databaseEnvSchema, source))
}

/** The configuration the app is built from: the validated environment, grouped by concern. */
function configOf(env: Env, keys: KeySet, refreshKeys: RefreshKeySet) {
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    webConcurrency: env.WEB_CONCURRENCY,
    database: databaseConfigOf(env),
    jwt: {
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      keys,
      refreshKeys,
      jwksMaxAgeSeconds: env.JWKS_MAX_AGE_SECONDS,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
      accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
      rememberMeTtlSeconds: env.REMEMBER_ME_TTL_SECONDS,
      reuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
      /** A refresh token unused for this long no longer refreshes: the login has gone idle. */
      refreshIdleTimeoutSeconds: env.REFRESH_IDLE_TIMEOUT_SECONDS,
    },
    /** Entries in the verified-access-token cache; about 1 KB each. 0 turns the cache off. */
    accessTokenCacheSize: env.ACCESS_TOKEN_CACHE_SIZE,
    passwords: { bcryptCost: env.BCRYPT_COST, minScore: env.PASSWORD_MIN_SCORE },
    limits: {
      loginFailuresPerAccount: env.LOGIN_FAILURES_PER_ACCOUNT,
      /** Failures per account from every address together: a short lock against many-address guessing. */
      loginFailuresPerAccountAllIps: env.LOGIN_FAILURES_PER_ACCOUNT_ALL_IPS,
      loginFailuresPerIp: env.LOGIN_FAILURES_PER_IP,
      loginFailureWindowSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS,
      authRequestsPerMinute: env.AUTH_REQUESTS_PER_MINUTE,
      /** Per-address budget of the /admin/* routes, counted apart from /auth/*. */
      adminRequestsPerMinute: env.ADMIN_REQUESTS_PER_MINUTE,
      /** Where the counters live; in process memory when unset (one instance only). */
      redisUrl: env.REDIS_URL,
    },
    http: { corsOrigins: env.CORS_ORIGINS, cookieSecure: env.COOKIE_SECURE, trustProxy: parseTrustProxy(env.TRUST_PROXY) },
    mail: mailConfigOf(env),
    account: {
      loginRequiresVerifiedEmail: env.LOGIN_REQUIRES_VERIFIED_EMAIL,
      linkTtlSeconds: {
        verify_email: env.VERIFY_EMAIL_TTL_SECONDS,
        password_reset: env.PASSWORD_RESET_TTL_SECONDS,
        email_change: env.EMAIL_CHANGE_TTL_SECONDS,
      },
      mailsPerAddressPerHour: env.MAILS_PER_ADDRESS_PER_HOUR,
      mailRequestMinResponseMs: env.MAIL_REQUEST_MIN_RESPONSE_MS,
      notifyNewDevice: env.NOTIFY_NEW_DEVICE,
    },
  }
}

/** The whole configuration; its type is what configOf builds, so the shape is written once. */
export type Config = ReturnType<typeof configOf>

/**
 * Validates the whole environment once, at start-up. Every problem is reported together, so an operator
 * fixes them in one pass; nothing else in the code base reads process.env.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = parseEnv(envSchema, source)

  const problems: string[] = []
  const keys = checkKeys(env, problems)
  checkMail(env, problems)
  const refreshKeyMaterial = checkRefreshKeys(env, keys.secret, problems)
  // NIST SP 800-63B (AAL1): re-authenticate at least every 30 days, whatever the user does.
  if (env.REMEMBER_ME_TTL_SECONDS > 2_592_000) {
    problems.push('REMEMBER_ME_TTL_SECONDS must be at most 2592000 (30 days)')
  }
  if (env.NODE_ENV === 'production' && env.PASSWORD_MIN_SCORE < 2) {
    problems.push('PASSWORD_MIN_SCORE must be at least 2 when NODE_ENV=production')
  }
  if (env.NODE_ENV === 'production' && env.TRUST_PROXY === 'true') {
    problems.push(
      'TRUST_PROXY=true trusts the leftmost X-Forwarded-For entry, which any client can write; when NODE_ENV=production ' +
        'set the number of proxy hops in front of the service (TRUST_PROXY=1) or the proxies\' addresses (TRUST_PROXY=10.0.0.0/8)',
    )
  }
  if (env.NODE_ENV === 'production' && !env.COOKIE_SECURE) {
    problems.push('COOKIE_SECURE=false sends the refresh cookie over plain HTTP; it is refused when NODE_ENV=production (serve HTTPS)')
  }
  if (env.REMEMBER_ME_TTL_SECONDS < env.REFRESH_TOKEN_TTL_SECONDS) {
    problems.push('REMEMBER_ME_TTL_SECONDS must not be shorter than REFRESH_TOKEN_TTL_SECONDS')
  }
  if (env.DB_OPERATION_TIMEOUT_MS < env.DB_ACQUIRE_TIMEOUT_MS) {
    problems.push('DB_OPERATION_TIMEOUT_MS must not be shorter than DB_ACQUIRE_TIMEOUT_MS')
  }
  if (env.ACCESS_TOKEN_TTL_SECONDS >= env.REFRESH_TOKEN_TTL_SECONDS) {
    problems.push('ACCESS_TOKEN_TTL_SECONDS must be shorter than REFRESH_TOKEN_TTL_SECONDS')
  }
  if (env.REFRESH_REUSE_GRACE_SECONDS > 60) {
    problems.push('REFRESH_REUSE_GRACE_SECONDS above 60 lets a stolen refresh token be replayed for too long')
  }
  // Below 10 is too cheap to slow down an offline guesser; only the test suite may go lower, for speed.
  if (env.BCRYPT_COST < 10 && env.NODE_ENV !== 'test') {
    problems.push('BCRYPT_COST must be at least 10 (lower values are accepted only with NODE_ENV=test)')
  }
  let keySet: KeySet | undefined
  let refreshKeySet: RefreshKeySet | undefined
  if (problems.length === 0) {
    try {
      keySet = loadKeySet(keys)
    } catch (error) {
      if (!(error instanceof KeySetError)) throw error
      problems.push(...error.problems)
    }
    try {
      refreshKeySet = loadRefreshKeySet(refreshKeyMaterial)
    } catch (error) {
      if (!(error instanceof KeySetError)) throw error
      problems.push(...error.problems)
    }
  }
  if (problems.length > 0 || !keySet || !refreshKeySet) throw new ConfigError(problems)
  return configOf(env, keySet, refreshKeySet)
}
