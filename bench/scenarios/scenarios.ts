import { availableParallelism } from 'node:os'
import type { LoadRequest, LoadResult } from '../harness/load.js'
import type { BenchOptions } from '../harness/options.js'
import { measureCommitFloor } from './commit-floor.js'
import { measureVerifyRate } from './crypto-verify.js'
import { bearer, continuousStreams, get, postJson, rotated, split, type ContinuousStreams } from './plans.js'
import { startPrune } from './prune-process.js'
import { CANDIDATE_ALGORITHMS } from './servers.js'
import type { BackgroundWork, Scenario, ScenarioContext } from './types.js'

// Refresh tokens are single-use. The first run (the warm-up) gets this many per second of its duration;
// every later one three times the best rate a run has reached so far, so none runs out and few are minted
// in vain. A run that spends them all ends early and says so.
const FIRST_REFRESH_TOKENS_PER_SECOND = 4000
const REFRESH_HEADROOM = 3
const MIN_REFRESH_TOKENS_PER_SECOND = 500
const LOGIN_CONNECTIONS = 4
// The cold tokens handed to the crypto.verify process: enough distinct signatures to defeat any caching.
const VERIFY_SAMPLE = 2000

// A run alongside the prune lasts as long as the prune, minutes for 1,000,000 rows on a small machine.
// Its refreshes stay below the rate without the prune, so half as many again as the best rate so far
// suffices; the ceiling keeps the minted requests (~1.5 KB each in the load generator) within ~300 MB.
const PRUNE_RUN_HEADROOM = 1.5
const PRUNE_RUN_MAX_TOKENS = 200_000
const PRUNE_RUN_MAX_SECONDS = { full: 600, quick: 60 }

function refreshLoad({ headroom = REFRESH_HEADROOM, maxTokens = Number.POSITIVE_INFINITY } = {}) {
  let tokensPerSecond = FIRST_REFRESH_TOKENS_PER_SECOND
  let bestRate = 0
  return {
    async plan(context: ScenarioContext, seconds: number) {
      const { connections } = context.options
      const wanted = Math.min(seconds * tokensPerSecond, maxTokens)
      const perConnection = Math.max(10, Math.ceil(wanted / connections))
      const tokens = await context.fx.refreshTokens(perConnection * connections)
      const requests = tokens.map((refreshToken) => postJson('/auth/refresh', { refreshToken }))
      return { perConnection: split(requests, connections), singleUse: true }
    },
    afterRun(_context: ScenarioContext, load: LoadResult) {
      bestRate = Math.max(bestRate, load.reqPerSec)
      tokensPerSecond = Math.max(MIN_REFRESH_TOKENS_PER_SECOND, Math.ceil(bestRate * headroom))
    },
  }
}

/**
 * `npm run db:prune` started with each measured run. The first run may last up to the ceiling; later ones
 * half as long again as the slowest prune so far, which keeps the refresh tokens minted for them in
 * proportion.
 */
function pruneWork(options: BenchOptions): BackgroundWork {
  const ceiling = options.quick ? PRUNE_RUN_MAX_SECONDS.quick : PRUNE_RUN_MAX_SECONDS.full
  let slowest = 0
  return {
    title: 'npm run db:prune (node dist/deploy/cli.js prune)',
    maxSeconds: () =>
      slowest === 0 ? ceiling : Math.min(ceiling, Math.max(options.durationSeconds, Math.ceil(slowest * 1.5))),
    async start({ fx, databaseUrl }) {
      const prune = startPrune(databaseUrl, await fx.countExpiredDenylist())
      prune.exited.then(
        (outcome) => void (slowest = Math.max(slowest, outcome.seconds)),
        () => undefined,
      )
      return prune
    },
  }
}

const meWarmPlan = async ({ fx, options }: ScenarioContext) => {
  const requests = (await fx.users()).map((user) => bearer('/me', user.accessToken))
  return { perConnection: rotated(requests, options.connections) }
}

// Django's cookie name; bench/server/session-routes.mjs reads it.
const sessionRequest = (store: 'mariadb' | 'redis', key: string) =>
  get(`/bench/session/${store}`, { cookie: `sessionid=${key}` })

/**
 * Disjoint slices of the cold tokens, one per connection, and each run (warm-up included) goes on where the
 * last one stopped: a token comes round again only after all the others, long evicted from the cache.
 */
function coldLoad(connections: number) {
  let streams: ContinuousStreams<LoadRequest> | undefined
  return {
    async plan({ fx }: ScenarioContext) {
      streams ??= continuousStreams(split((await fx.coldTokens()).map((token) => bearer('/me', token)), connections))
      return { perConnection: streams.next() }
    },
    afterRun(_context: ScenarioContext, load: LoadResult) {
      streams?.advance(load.sentPerList)
    },
  }
}

const verifyRate = async ({ fx, key }: ScenarioContext, seconds: number) => {
  const tokens = (await fx.coldTokens()).slice(0, VERIFY_SAMPLE)
  return measureVerifyRate({ algorithm: key.algorithm, publicKeyPem: key.publicKeyPem, tokens, seconds })
}

/**
 * The candidates for the default algorithm side by side, each on a fresh server of its own with a key of
 * its own: what verifying costs (/me cold against the bare crypto.verify rate) and what signing costs
 * (refresh signs two tokens, login two after bcrypt). Opt-in (`--only algorithms`): a run of everything
 * would spend several more minutes, and minting 60,000 RS256 tokens takes ~20 s alone.
 */
function algorithmScenarios(connections: number): Scenario[] {
  const notes = [
    'algorithms: each candidate runs on a fresh single server of its own (JWT_ALGORITHM and a key of that type), ' +
      'in the order EdDSA, ES256, RS256; refresh and login sign an access and a refresh token each, /me cold verifies one',
  ]
  return CANDIDATE_ALGORITHMS.flatMap((algorithm): Scenario[] => {
    const common = { group: 'algorithms', server: `alg-${algorithm}`, notes, optIn: true }
    return [
      {
        kind: 'http',
        id: `me-cold-${algorithm}`,
        title: `${algorithm}: /me cold, every token new to the server`,
        expectedStatuses: [200],
        ...common,
        ...coldLoad(connections),
      },
      {
        kind: 'rate',
        id: `crypto-verify-${algorithm}`,
        title: `${algorithm}: bare crypto.verify, 1 core (verifies/s)`,
        unit: 'verifies/s',
        ...common,
        measure: verifyRate,
      },
      {
        kind: 'http',
        id: `refresh-${algorithm}`,
        title: `${algorithm}: refresh, empty denylist`,
        expectedStatuses: [200],
        ...common,
        beforeRun: ({ fx }) => fx.clearDenylist(),
        ...refreshLoad(),
      },
      {
        kind: 'http',
        id: `login-${algorithm}`,
        title: `${algorithm}: POST /auth/login, ${LOGIN_CONNECTIONS} connections`,
        // 503: shed by the bounded bcrypt queue; the rate counts the 200s only if none are shed.
        expectedStatuses: [200, 503],
        ...common,
        plan: async ({ fx }) => {
          const requests = (await fx.users()).map(({ email, password }) => postJson('/auth/login', { email, password }))
          return { perConnection: rotated(requests, LOGIN_CONNECTIONS) }
        },
        connections: LOGIN_CONNECTIONS,
      },
    ]
  })
}

/**
 * The scenarios, in the order they run (grouped by server, in order of first use). Adding one is adding
 * an entry here; the targets that compare them live in bench/report/targets.ts.
 */
export function scenarios(options: BenchOptions): Scenario[] {
  const { connections } = options
  const pruneRows = options.pruneRows.toLocaleString('en')
  const pruneNotes = [
    'prune-during: each measured run starts together with `node dist/deploy/cli.js prune` and stops when it exits, ' +
      'so every latency in its row was measured while the prune ran; every run starts with the full count of ' +
      'expired rows (filled again after each prune), and the warm-up runs without the prune',
    ...(options.pruneRows < 1_000_000
      ? [`quick mode: the prune scenarios use ${pruneRows} expired rows, not the 1,000,000 of the reliability target`]
      : []),
  ]
  const cores = availableParallelism()
  const clusterNotes = [
    `cluster: autocannon runs on the same ${cores} cores as the workers and competes with them for the CPU, so ` +
      '"scale-out: 2 workers ÷ 1 worker" is what a second worker buys on this machine with its load generator, ' +
      'not what it buys on a server with cores of its own',
    'cluster: RSS is the sum over the primary and its workers (VmRSS of each); pages they share, such as the ' +
      "node binary's, are counted once per process",
  ]
  return [
    {
      kind: 'http',
      id: 'ceiling',
      group: 'ceiling',
      title: 'ceiling: GET /health/live',
      server: 'single',
      expectedStatuses: [200],
      plan: async () => ({ perConnection: [[get('/health/live')]] }),
    },
    {
      kind: 'http',
      id: 'me-warm',
      group: 'me',
      title: '/me warm: 200 tokens, each reused',
      server: 'single',
      expectedStatuses: [200],
      meLoad: true,
      plan: meWarmPlan,
    },
    {
      kind: 'http',
      id: 'me-cold',
      group: 'cold',
      title: '/me cold: every token new to the server',
      server: 'single',
      expectedStatuses: [200],
      meLoad: true,
      ...coldLoad(connections),
    },
    {
      kind: 'rate',
      id: 'crypto-verify',
      group: 'cold',
      title: 'bare crypto.verify, 1 core (verifies/s)',
      server: 'single',
      unit: 'verifies/s',
      measure: verifyRate,
    },
    {
      kind: 'http',
      id: 'session-mariadb',
      group: 'sessions',
      title: 'server session in MariaDB (baseline)',
      server: 'single',
      expectedStatuses: [200],
      prepare: async ({ fx }) => void (await fx.mariadbSessions()),
      plan: async ({ fx }) => {
        const keys = await fx.mariadbSessions()
        return { perConnection: split(keys.map((key) => sessionRequest('mariadb', key)), connections) }
      },
    },
    {
      kind: 'http',
      id: 'session-redis',
      group: 'sessions',
      title: 'server session in Redis (baseline)',
      server: 'single',
      expectedStatuses: [200],
      prepare: async ({ fx }) => void (await fx.redisSessions()),
      plan: async ({ fx }) => {
        const keys = await fx.redisSessions()
        return { perConnection: split(keys.map((key) => sessionRequest('redis', key)), connections) }
      },
    },
    {
      kind: 'http',
      id: 'refresh-empty',
      group: 'refresh',
      title: 'refresh, empty denylist',
      server: 'single',
      expectedStatuses: [200],
      beforeRun: ({ fx }) => fx.clearDenylist(),
      ...refreshLoad(),
    },
    {
      kind: 'rate',
      id: 'commit-floor',
      group: 'refresh',
      title: 'bare INSERT commits through the app pool (commits/s)',
      server: 'single',
      unit: 'commits/s',
      notes: [
        'commit-floor: bare single-row INSERTs (autocommit, the columns of a rotation row, into a scratch copy of ' +
          "revoked_tokens) through a mariadb pool of the app's DB_POOL_SIZE, from as many callers as the HTTP " +
          'scenarios have connections, in a process of its own while no load runs: the ceiling for refresh-empty',
      ],
      measure: ({ server, databaseUrl, options }, seconds) =>
        measureCommitFloor({ databaseUrl, poolSize: server.info.dbPoolSize, callers: options.connections, seconds }),
    },
    {
      kind: 'http',
      id: 'refresh-full',
      group: 'refresh',
      title: `refresh, ${options.denylistRows.toLocaleString('en')} denylist rows`,
      server: 'single',
      expectedStatuses: [200],
      // Filled once; each run adds its own rotations on top, a few percent of the rows.
      prepare: ({ fx }) => fx.fillDenylist(options.denylistRows),
      ...refreshLoad(),
    },
    {
      kind: 'http',
      id: 'me-under-logins',
      group: 'logins',
      title: '/me warm while logins run',
      server: 'single',
      expectedStatuses: [200],
      meLoad: true,
      plan: meWarmPlan,
      alongside: {
        title: `POST /auth/login, ${LOGIN_CONNECTIONS} connections`,
        connections: LOGIN_CONNECTIONS,
        // 503: shed by the bounded bcrypt queue; 429: a rate limit. Both are the server protecting /me.
        expectedStatuses: [200, 429, 503],
        plan: async ({ fx }) => {
          const requests = (await fx.users()).map(({ email, password }) => postJson('/auth/login', { email, password }))
          return { perConnection: rotated(requests, LOGIN_CONNECTIONS) }
        },
      },
    },
    // After the /me scenarios: its garbage must not raise the RSS they report.
    {
      kind: 'http',
      id: 'ceiling-fastify-helmet',
      group: 'ceiling',
      title: 'ceiling with @fastify/helmet per request',
      server: 'single',
      expectedStatuses: [200],
      notes: [
        'ceiling with @fastify/helmet: a bench-only twin of /health/live whose security headers @fastify/helmet ' +
          'computes on every request; the API computes the same headers once at start-up (src/plugins/security.ts)',
      ],
      plan: async () => ({ perConnection: [[get('/bench/fastify-helmet/live')]] }),
    },
    // Each starts a server of its own.
    {
      kind: 'http',
      id: 'cluster-1',
      group: 'cluster',
      title: '/me warm, node:cluster, 1 worker',
      server: 'cluster-1',
      expectedStatuses: [200],
      // Not meLoad: the RSS target is about one process, and these rows sum a primary and its workers.
      notes: clusterNotes,
      plan: meWarmPlan,
    },
    {
      kind: 'http',
      id: 'cluster-2',
      group: 'cluster',
      title: '/me warm, node:cluster, 2 workers',
      server: 'cluster-2',
      expectedStatuses: [200],
      notes: clusterNotes,
      plan: meWarmPlan,
    },
    // Last, on a server of their own: the prune's churn, and InnoDB's purge after it, must not spill into
    // other scenarios.
    {
      kind: 'http',
      id: 'prune-baseline',
      group: 'prune',
      title: `refresh, ${pruneRows} expired denylist rows, no prune`,
      server: 'prune',
      expectedStatuses: [200],
      notes: pruneNotes,
      prepare: ({ fx }) => fx.expiredDenylist(options.pruneRows),
      ...refreshLoad(),
    },
    {
      kind: 'http',
      id: 'prune-during',
      group: 'prune',
      title: `refresh while db:prune deletes ${pruneRows} expired rows`,
      server: 'prune',
      expectedStatuses: [200],
      notes: pruneNotes,
      prepare: ({ fx }) => fx.expiredDenylist(options.pruneRows),
      // The prune of the run before took them all: every run prunes the full count.
      beforeRun: ({ fx }) => fx.expiredDenylist(options.pruneRows),
      ...refreshLoad({ headroom: PRUNE_RUN_HEADROOM, maxTokens: PRUNE_RUN_MAX_TOKENS }),
      during: pruneWork(options),
    },
    ...algorithmScenarios(connections),
  ]
}

/** The scenarios --only asks for, by id or group; all but the opt-in ones without --only. */
export function selectScenarios(all: Scenario[], only: string[]): Scenario[] {
  if (only.length === 0) return all.filter((scenario) => !scenario.optIn)
  const unknown = only.filter((name) => !all.some((scenario) => scenario.id === name || scenario.group === name))
  if (unknown.length > 0) {
    const names = [...new Set(all.flatMap((scenario) => [scenario.id, scenario.group]))].join(', ')
    throw new Error(`unknown scenario ${unknown.join(', ')}; choose from ${names}`)
  }
  return all.filter((scenario) => only.includes(scenario.id) || only.includes(scenario.group))
}
