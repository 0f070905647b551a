import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { ConfigError, ENV_VARIABLES, loadConfig, loadDatabaseConfig } from '../../src/config.js'

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

t.test('defaults: a development server on 127.0.0.1:3000 with an ephemeral RS256 key', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    env: 'development',
    host: '127.0.0.1',
    port: 3000,
    database: { url: 'mysql://root@127.0.0.1:3306/jwt_api', migrateOnStart: true },
    jwt: { accessTtlSeconds: 900, refreshTtlSeconds: 86_400, rememberMeTtlSeconds: 2_592_000, reuseGraceSeconds: 10 },
    passwords: { bcryptCost: 12 },
    http: { corsOrigins: [], cookieSecure: true },
  })
  t.equal(config.jwt.keys.ephemeral, true)
  t.equal(config.jwt.keys.signing.algorithm, 'RS256')
  t.match(config.jwt.keys.jwks.keys[0], { kty: 'RSA', alg: 'RS256', use: 'sig' })
  t.equal(config.jwt.keys.jwks.keys.length, 1)
})

t.test('empty variables count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', HOST: '' }).port, 3000)
})

t.test('lists every invalid value at once, by variable name', async (t) => {
  const problems = problemsOf({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://x/y', COOKIE_SECURE: 'maybe' })
  t.equal(problems.length, 4)
  for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'COOKIE_SECURE']) {
    t.ok(problems.some((problem) => problem.startsWith(`${name}:`)), name)
  }
})

// What production needs besides keys: where mail goes and the front end its links open.
const MAIL = { SMTP_URL: 'smtp://user:secret@smtp.example.com:587', APP_URL: 'https://app.example.com' }
const REFRESH_TOKEN_SECRET = 'a refresh-token secret of 32 bytes or more for production'

t.test('production refuses to start without a signing key and names the variable', async (t) => {
  const problems = problemsOf({ NODE_ENV: 'production', ...MAIL })
  t.match(problems, [/JWT_PRIVATE_KEY/])
  t.match(problemsOf({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS256', ...MAIL }), [/JWT_SECRET/])
})

t.test('production refuses to start without SMTP_URL and APP_URL, naming each', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const production = { NODE_ENV: 'production', JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pem }
  t.match(problemsOf(production), [/^SMTP_URL is required/, /^APP_URL is required/])
  t.match(problemsOf({ ...production, ...MAIL, SMTP_URL: 'http://smtp.example.com' }), [/^SMTP_URL: expected smtp:\/\//])
  t.equal(loadConfig({ ...production, ...MAIL, REFRESH_TOKEN_SECRET }).mail.smtpUrl, MAIL.SMTP_URL)
  t.equal(loadConfig({ ...production, ...MAIL, REFRESH_TOKEN_SECRET, APP_URL: 'https://app.example.com/' }).mail.appUrl, 'https://app.example.com')
})

t.test('production refuses settings that weaken it, naming the variable and the safe alternative', async (t) => {
  const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const production = { NODE_ENV: 'production', JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: key, ...MAIL, REFRESH_TOKEN_SECRET }
  t.match(problemsOf({ ...production, TRUST_PROXY: 'true' }), [/^TRUST_PROXY=true .*TRUST_PROXY=1.*addresses/])
  t.match(problemsOf({ ...production, COOKIE_SECURE: 'false' }), [/^COOKIE_SECURE=false .*HTTPS/])
  t.same(loadConfig({ ...production, TRUST_PROXY: '1' }).http.trustProxy instanceof Function, true, 'a hop count is fine')
  t.same(loadConfig({ ...production, TRUST_PROXY: '10.0.0.0/8' }).http.trustProxy, ['10.0.0.0/8'], 'addresses are fine')
  t.equal(loadConfig({ TRUST_PROXY: 'true', COOKIE_SECURE: 'false' }).http.cookieSecure, false, 'development may')
})

t.test('production with a key: migrations are a separate deploy step unless MIGRATE_ON_START says otherwise', async (t) => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const config = loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY: pem, ...MAIL, REFRESH_TOKEN_SECRET })
  t.equal(config.jwt.keys.ephemeral, false)
  t.equal(config.database.migrateOnStart, false)
  t.equal(loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY: pem, MIGRATE_ON_START: 'true', ...MAIL, REFRESH_TOKEN_SECRET }).database.migrateOnStart, true)
})

t.test('a deployment made when EdDSA was the default keeps working once it names the algorithm', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const config = loadConfig({ NODE_ENV: 'production', JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pem, ...MAIL, REFRESH_TOKEN_SECRET })
  t.equal(config.jwt.keys.signing.algorithm, 'EdDSA')
  t.match(config.jwt.keys.jwks.keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' })
  // Without JWT_ALGORITHM it does not start with a key it would sign wrongly with; it says what to set.
  t.match(problemsOf({ NODE_ENV: 'production', JWT_PRIVATE_KEY: pem, ...MAIL, REFRESH_TOKEN_SECRET }), [/EdDSA key but JWT_ALGORITHM is RS256/])
})

t.test('checks relations between values', async (t) => {
  t.match(problemsOf({ REMEMBER_ME_TTL_SECONDS: '60' }), [/REMEMBER_ME_TTL_SECONDS/])
  t.match(problemsOf({ ACCESS_TOKEN_TTL_SECONDS: '100000' }), [/ACCESS_TOKEN_TTL_SECONDS/])
  t.match(problemsOf({ BCRYPT_COST: '8' }), [/BCRYPT_COST/])
  t.equal(loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4' }).passwords.bcryptCost, 4, 'only tests may go below 10')
  t.match(problemsOf({ JWT_CLOCK_TOLERANCE_SECONDS: '31' }), [/JWT_CLOCK_TOLERANCE_SECONDS/])
  t.match(problemsOf({ REMEMBER_ME_TTL_SECONDS: String(31 * 86_400) }), [/at most 2592000 \(30 days\)/])
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  t.match(problemsOf({ NODE_ENV: 'production', JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pem, PASSWORD_MIN_SCORE: '1', ...MAIL, REFRESH_TOKEN_SECRET }), [/PASSWORD_MIN_SCORE/])
})

t.test('refresh tokens have an HS256 secret of their own: required in production, never published', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const production = { NODE_ENV: 'production', JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: pem, ...MAIL }
  t.match(problemsOf(production), [/^REFRESH_TOKEN_SECRET \(or REFRESH_TOKEN_SECRET_FILE\) is required/])
  t.match(problemsOf({ REFRESH_TOKEN_SECRET: 'too short' }), [/REFRESH_TOKEN_SECRET: .*at least 32 bytes/])
  t.match(problemsOf({ REFRESH_TOKEN_SECRET, REFRESH_TOKEN_PREVIOUS_SECRETS: `${'p'.repeat(32)},short` }), [
    /REFRESH_TOKEN_PREVIOUS_SECRETS: secret 2: .*at least 32 bytes/,
  ])
  t.match(problemsOf({ REFRESH_TOKEN_SECRET, REFRESH_TOKEN_PREVIOUS_SECRETS: REFRESH_TOKEN_SECRET }), [/appears twice/])
  const secret = 's'.repeat(32)
  t.match(problemsOf({ JWT_ALGORITHM: 'HS256', JWT_SECRET: secret, REFRESH_TOKEN_SECRET: secret }), [/must differ from JWT_SECRET/])

  const config = loadConfig({ ...production, REFRESH_TOKEN_SECRET, REFRESH_TOKEN_PREVIOUS_SECRETS: ` ${'p'.repeat(32)} , ${'q'.repeat(32)}` })
  const { refreshKeys, keys } = config.jwt
  t.equal(refreshKeys.ephemeral, false)
  t.equal(refreshKeys.verification.size, 3, 'the current secret and two that only verify')
  t.ok([...refreshKeys.verification.values()].every((key) => key.algorithm === 'HS256' && key.publicJwk === undefined))
  t.ok(refreshKeys.verification.has(refreshKeys.signing.kid))
  t.notOk([...refreshKeys.verification.keys()].some((kid) => keys.verification.has(kid)), 'no kid in both sets')
  t.same(keys.jwks.keys.map((key) => key.kty), ['OKP'], 'the JWK Set publishes the access key alone')
  t.equal(loadConfig({}).jwt.refreshKeys.ephemeral, true, 'development generates one')
})

t.test('HS256 needs a secret of at least 32 bytes', async (t) => {
  t.match(problemsOf({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'too short' }), [/at least 32 bytes/])
  t.equal(loadConfig({ JWT_ALGORITHM: 'HS256', JWT_SECRET: 'x'.repeat(32) }).jwt.keys.signing.algorithm, 'HS256')
})

t.test('a key of the wrong type for the algorithm is refused', async (t) => {
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  t.match(problemsOf({ JWT_PRIVATE_KEY: pem }), [/ES256 key but JWT_ALGORITHM is RS256/])
  t.match(problemsOf({ JWT_PRIVATE_KEY: 'not a key' }), [/JWT_PRIVATE_KEY/])
})

t.test('the db:* commands need only the database settings', async (t) => {
  const database = loadDatabaseConfig({ NODE_ENV: 'production', DATABASE_URL: 'mysql://app:pw@db:3306/auth' })
  t.equal(database.url, 'mysql://app:pw@db:3306/auth')
  t.equal(database.migrateOnStart, false)
})

t.test('.env.example and the README list every variable the server reads', async (t) => {
  const { readFileSync } = await import('node:fs')
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  for (const name of ENV_VARIABLES) {
    t.match(example, new RegExp(`^#? ?${name}=`, 'm'), `.env.example lists ${name}`)
    t.match(readme, new RegExp('`' + name + '`'), `README lists ${name}`)
  }
  // And nothing else: a variable listed there but never read would be a setting that silently does nothing.
  const listed = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1])
  t.same([...new Set(listed)].sort(), [...ENV_VARIABLES].sort(), '.env.example lists exactly the variables read')
  const configTable = readme.split('\n## Configuration')[1]?.split('\n## ')[0] ?? ''
  const inTable = configTable
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]))
  t.same([...new Set(inTable)].sort(), [...ENV_VARIABLES].sort(), 'the README configuration table lists exactly the variables read')
})

t.test('JWKS_MAX_AGE_SECONDS: 300 by default, 0 to 86400', async (t) => {
  t.equal(loadConfig({}).jwt.jwksMaxAgeSeconds, 300)
  t.equal(loadConfig({ JWKS_MAX_AGE_SECONDS: '3600' }).jwt.jwksMaxAgeSeconds, 3600)
  t.equal(loadConfig({ JWKS_MAX_AGE_SECONDS: '0' }).jwt.jwksMaxAgeSeconds, 0)
  for (const bad of ['-1', '86401', 'soon']) {
    t.ok(problemsOf({ JWKS_MAX_AGE_SECONDS: bad }).some((problem) => problem.startsWith('JWKS_MAX_AGE_SECONDS:')), bad)
  }
})
