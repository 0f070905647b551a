import { randomBytes, randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { createDatabaseIfMissing, migrateDatabase } from '../../src/deploy/migrate.js'
import { build, type TestApp } from '../helpers/build.js'
import { ManualClock } from '../helpers/clock.js'
import type { TestDatabase } from '../helpers/database.js'
import { PASSWORD, uniqueEmail } from '../helpers/http.js'
import { generateRefreshSecret, generateSigningKey } from '../helpers/server-process.js'
import { GaleraCluster } from './cluster.js'

/**
 * The service on a three-node Galera cluster, two instances on two different nodes (npm run test:galera;
 * not part of npm test). Every node runs with the settings the README's "Scaling out" requires, and with
 * wsrep_retry_autocommit=0, so that a lost certification reaches the app as 1213 instead of being retried
 * away by the server: the harsher setting.
 */

type Tokens = { accessToken: string; refreshToken: string }
type Answer = { status: number; body: Record<string, unknown> }

/** Real time: the kill test needs the grace window to pass as it does in production. */
class WallClock extends ManualClock {
  override now(): number {
    return Date.now()
  }
}

const jtiOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti
const errnoOf = (error: unknown) => (error as { errno?: number }).errno
const ms = (n: number) => `${n.toFixed(1)} ms`

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { mean: samples.reduce((a, b) => a + b, 0) / samples.length, p50: at(0.5), p95: at(0.95) }
}

async function call(base: string, path: string, body: object): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

t.test('the service on a three-node Galera cluster', async (t) => {
  const log = (line: string) => t.comment(line)
  const started = Date.now()
  const cluster = await GaleraCluster.start({
    log,
    serverOptions: ['--wsrep-sync-wait=1', '--wsrep-retry-autocommit=0'],
    // A dead node stalls every commit until the others evict it (about suspect_timeout + 1 s; 6.5 s with
    // the defaults): shortened so that the stall stays inside DB_OPERATION_TIMEOUT_MS.
    providerOptions: ['evs.suspect_timeout=PT1.5S', 'evs.inactive_timeout=PT3S', 'evs.keepalive_period=PT0.25S'],
  })
  t.teardown(() => cluster.destroy())
  log(`cluster of 3 Synced in ${Date.now() - started} ms`)

  // One migration, on node 0; DDL replicates to the others (total order isolation).
  const name = `jwt_galera_${randomBytes(4).toString('hex')}`
  await createDatabaseIfMissing(cluster.urlFor(0, name))
  await migrateDatabase(cluster.urlFor(0, name), { builtIn: true })
  await cluster.waitForSynced()
  const databaseOn = (node: number): TestDatabase => ({ name, url: cluster.urlFor(node, name), drop: async () => undefined })

  // The deadline has to outlast the cluster's stall when a node dies (printed by the kill test).
  const env = { JWT_PRIVATE_KEY: generateSigningKey(), REFRESH_TOKEN_SECRET: generateRefreshSecret(), AUTH_REQUESTS_PER_MINUTE: '1000000', DB_OPERATION_TIMEOUT_MS: '5000' }
  const clock = new WallClock()
  const instance = async (node: number, owner: { teardown(fn: () => unknown): void } = t) => {
    const app = await build(owner, env, { database: databaseOn(node), clock })
    return { ...app, url: await app.app.listen({ host: '127.0.0.1', port: 0 }) }
  }
  const a = await instance(0)
  const b = await instance(1)

  const email = uniqueEmail('galera')
  const registered = await call(a.url, '/auth/register', { email, password: PASSWORD })
  t.equal(registered.status, 201)
  const userId = registered.body.id as string
  const loginOn = async (base: string) => (await call(base, '/auth/login', { email, password: PASSWORD })).body as Tokens

  /** Inserts a rotation row for `jti` the way the app does, through a raw session. */
  const rotationRow = `INSERT INTO revoked_tokens (id, scope, user_id, reason, successor_jti, revoked_at, expires_at)
    VALUES (?, 'token', ?, 'rotated', ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL 1 DAY)`

  const counters = async () => {
    let certFailures = 0
    let bfAborts = 0
    for (const node of cluster.nodes) {
      if (!node.child) continue
      const status = await cluster.status(node.index)
      certFailures += Number(status.wsrep_local_cert_failures)
      bfAborts += Number(status.wsrep_local_bf_aborts)
    }
    return { certFailures, bfAborts }
  }

  await t.test('one primary key inserted in open transactions on two nodes: one commits, one fails with 1213', async (t) => {
    const outcomes: Record<string, number> = {}
    for (let round = 0; round < 10; round++) {
      const id = randomUUID()
      const sessions = [await cluster.connect(0, name), await cluster.connect(1, name)]
      try {
        for (const session of sessions) await session.query('BEGIN')
        for (const session of sessions) await session.query(rotationRow, [id, userId, randomUUID()])
        // Both executed before either's write-set arrived: they meet at certification, not on the key.
        const commits = await Promise.allSettled(sessions.map((session) => session.query('COMMIT')))
        const codes = commits.map((commit) => (commit.status === 'fulfilled' ? 'ok' : String(errnoOf(commit.reason)))).sort()
        for (const code of codes) outcomes[code] = (outcomes[code] ?? 0) + 1
        t.same(codes, ['1213', 'ok'], `round ${round}`)
      } finally {
        for (const session of sessions) await session.end().catch(() => undefined)
      }
    }
    log(`10 cross-node races of one revoked_tokens id in open transactions: ${JSON.stringify(outcomes)}`)
  })

  await t.test('a rotation whose insert loses certification (1213) answers with the winner, inside grace', async (t) => {
    const tokens = await loginOn(a.url)
    const jti = jtiOf(tokens.refreshToken)
    const winner = randomUUID()
    const before = await cluster.status(0)
    // A local transaction on node 0 holds the key, so the app's insert on node 0 waits behind it...
    const holder = await cluster.connect(0, name)
    const other = await cluster.connect(1, name)
    try {
      await holder.query('BEGIN')
      await holder.query(rotationRow, [jti, userId, randomUUID()])
      const answer = call(a.url, '/auth/refresh', { refreshToken: tokens.refreshToken })
      const waited = await Promise.race([
        waitForLockWait(cluster, 0),
        answer.then((early) => Promise.reject(new Error(`the refresh answered before waiting: ${JSON.stringify(early)}`))),
      ])
      // ...until node 1 commits the same key: applying it aborts both (brute force), and the app's
      // insert fails with 1213 instead of a duplicate key.
      await other.query(rotationRow, [jti, userId, winner])
      const refreshed = await answer
      const after = await cluster.status(0)
      const holderCommit = await holder.query('COMMIT').then(
        () => 'ok',
        (error: unknown) => String(errnoOf(error)),
      )
      t.equal(holderCommit, '1213', 'the holder lost too')
      t.equal(refreshed.status, 200, 'not 503')
      if (refreshed.status === 200) t.equal(jtiOf(refreshed.body.refreshToken as string), winner, "the grace rule hands out the winner's successor")
      log(
        `1213 on the rotation insert: answered ${refreshed.status} with the winner's successor (app waited on the lock for ${waited} ms; ` +
          `node 0 brute-force aborts +${Number(after.wsrep_local_bf_aborts) - Number(before.wsrep_local_bf_aborts)})`,
      )
    } finally {
      await holder.end().catch(() => undefined)
      await other.end().catch(() => undefined)
    }
  })

  await t.test('a refresh token raced 10 times across both instances yields exactly one successor', async (t) => {
    const before = await counters()
    const statuses: Record<number, number> = {}
    const rounds = 5
    for (let round = 0; round < rounds; round++) {
      const tokens = await loginOn(a.url)
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => call(i % 2 ? a.url : b.url, '/auth/refresh', { refreshToken: tokens.refreshToken })),
      )
      for (const answer of answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
      const successors = new Set(answers.filter((answer) => answer.status === 200).map((answer) => answer.body.refreshToken))
      t.equal(successors.size, 1, `round ${round}: one successor`)
      t.same(
        answers.map((answer) => answer.status),
        Array(10).fill(200),
      )
    }
    const after = await counters()
    const fiveXx = Object.entries(statuses).filter(([status]) => Number(status) >= 500).reduce((sum, [, n]) => sum + n, 0)
    t.equal(fiveXx, 0)
    log(
      `race: ${rounds} rounds x 10 refreshes across 2 instances: statuses ${JSON.stringify(statuses)}, 1 successor per round, ` +
        `${fiveXx} x 5xx; cluster saw ${after.certFailures - before.certFailures} certification failures, ` +
        `${after.bfAborts - before.bfAborts} brute-force aborts`,
    )
  })

  /** Logs in, logs out on `first`, refreshes on `second` at once; true when the refresh was refused as revoked. */
  const logoutThenRefresh = async (first: string, second: string) => {
    const tokens = await loginOn(first)
    const out = await call(first, '/auth/logout', { refreshToken: tokens.refreshToken })
    if (out.status !== 204) throw new Error(`logout answered ${out.status}`)
    const refreshed = await call(second, '/auth/refresh', { refreshToken: tokens.refreshToken })
    return refreshed.status === 401 && refreshed.body.code === 'token_revoked'
  }

  await t.test('a logout on instance A is honoured by a refresh on instance B sent right after, 200 times', async (t) => {
    let honoured = 0
    for (let i = 0; i < 200; i++) if (await logoutThenRefresh(a.url, b.url)) honoured++
    t.equal(honoured, 200)
    log(`logout on A (node 0) -> refresh on B (node 1), wsrep_sync_wait=1: ${honoured}/200 honoured`)
  })

  await t.test('what wsrep_sync_wait=1 costs on refresh', async (t) => {
    const chain = async (base: string, count: number) => {
      let token = (await loginOn(base)).refreshToken
      const samples: number[] = []
      for (let i = 0; i < count; i++) {
        const start = performance.now()
        const answer = await call(base, '/auth/refresh', { refreshToken: token })
        samples.push(performance.now() - start)
        if (answer.status !== 200) throw new Error(`refresh answered ${answer.status}`)
        token = answer.body.refreshToken as string
      }
      return samples
    }
    const setSyncWait = async (value: number) => {
      for (const node of cluster.nodes) {
        const session = await cluster.connect(node.index)
        await session.query(`SET GLOBAL wsrep_sync_wait = ${value}`).finally(() => session.end())
      }
    }
    // New sessions take the global value: a second instance on node 1, built while it is 0, reads without
    // waiting; B's sessions keep 1. Blocks alternate, so that the machine's load hits both alike.
    const withWait: number[] = []
    const withoutWait: number[] = []
    let honoured = 0
    const owner = { teardowns: [] as (() => unknown)[], teardown(fn: () => unknown) { this.teardowns.push(fn) } }
    await setSyncWait(0)
    try {
      const a0 = await instance(0, owner)
      const b0 = await instance(1, owner)
      await chain(b.url, 30)
      await chain(b0.url, 30)
      for (let block = 0; block < 4; block++) {
        withWait.push(...(await chain(b.url, 100)))
        withoutWait.push(...(await chain(b0.url, 100)))
      }
      for (let i = 0; i < 200; i++) if (await logoutThenRefresh(a0.url, b0.url)) honoured++
    } finally {
      await setSyncWait(1)
      for (const fn of owner.teardowns.reverse()) await fn()
    }
    const on = stats(withWait)
    const off = stats(withoutWait)
    log(
      `refresh on node 1, 400 sequential each, blocks interleaved: wsrep_sync_wait=1 mean ${ms(on.mean)}, p50 ${ms(on.p50)}, p95 ${ms(on.p95)}; ` +
        `wsrep_sync_wait=0 mean ${ms(off.mean)}, p50 ${ms(off.p50)}, p95 ${ms(off.p95)}; difference in mean ${ms(on.mean - off.mean)}`,
    )
    // The read itself, without HTTP and the app around it: the denylist lookup a refresh makes.
    const session = await cluster.connect(1, name)
    const lookup = async (wait: number, count: number) => {
      await session.query(`SET SESSION wsrep_sync_wait = ${wait}`)
      const samples: number[] = []
      for (let i = 0; i < count; i++) {
        const start = performance.now()
        await session.query('SELECT id, scope, successor_jti, revoked_at FROM revoked_tokens WHERE id IN (?, ?) LIMIT 3', [randomUUID(), randomUUID()])
        samples.push(performance.now() - start)
      }
      return samples
    }
    const readOn: number[] = []
    const readOff: number[] = []
    try {
      for (let block = 0; block < 5; block++) {
        readOn.push(...(await lookup(1, 200)))
        readOff.push(...(await lookup(0, 200)))
      }
    } finally {
      await session.end()
    }
    const rOn = stats(readOn)
    const rOff = stats(readOff)
    log(
      `denylist read on node 1, 1000 each: wsrep_sync_wait=1 mean ${ms(rOn.mean)}, p95 ${ms(rOn.p95)}; 0 mean ${ms(rOff.mean)}, p95 ${ms(rOff.p95)}`,
    )
    log(`with wsrep_sync_wait=0 (informational): ${200 - honoured}/200 refreshes right after a logout on the other node were not refused`)
    t.pass('measured')
  })

  await t.test('two admins on two nodes demote each other at once: one enabled admin is left, 10 times', async (t) => {
    const sql = await cluster.connect(0, name)
    t.teardown(() => sql.end())
    const adminOn = async (instance: Instance) => {
      const email = uniqueEmail('galera-admin')
      const made = await call(instance.url, '/auth/register', { email, password: PASSWORD })
      await sql.query("UPDATE users SET role = 'admin' WHERE id = ?", [made.body.id])
      const tokens = (await call(instance.url, '/auth/login', { email, password: PASSWORD })).body as Tokens
      return { id: made.body.id as string, tokens, instance }
    }
    await sql.query("UPDATE users SET role = 'user' WHERE role = 'admin'")
    const [one, two] = [await adminOn(a), await adminOn(b)]
    const demote = (by: typeof one, target: typeof one) =>
      by.instance.app.inject({
        method: 'PATCH',
        url: `/admin/users/${target.id}`,
        headers: { authorization: `Bearer ${by.tokens.accessToken}` },
        payload: { role: 'user' },
      })
    const outcomes: Record<string, number> = {}
    for (let round = 0; round < 10; round++) {
      await sql.query("UPDATE users SET role = 'admin' WHERE id IN (?, ?)", [one.id, two.id])
      await cluster.waitForSynced()
      const answers = await Promise.all([demote(one, two), demote(two, one)])
      const statuses = answers.map((answer) => answer.statusCode).sort()
      const key = statuses.join('+')
      outcomes[key] = (outcomes[key] ?? 0) + 1
      const [left] = await sql.query<{ count: bigint }[]>("SELECT COUNT(*) AS count FROM users WHERE role = 'admin' AND disabled_at IS NULL")
      t.equal(Number(left!.count), 1, `round ${round} (${key}): one admin is left`)
      // Seen once in CI (round 0, 200+200 with one admin left) and never reproduced: say what each answered.
      if (!['200+403', '200+409', '200+503'].includes(key)) {
        const roles = await sql.query<{ id: string; role: string }[]>('SELECT id, role FROM users WHERE id IN (?, ?)', [one.id, two.id])
        log(`round ${round} answered ${key}: one (${one.id}) demoting two: ${answers[0]!.body}; two (${two.id}) demoting one: ${answers[1]!.body}; roles now ${JSON.stringify(roles)}`)
      }
    }
    log(`two admins on nodes 0 and 1 demoting each other, 10 rounds: statuses ${JSON.stringify(outcomes)}`)
  })

  await t.test('a node killed with SIGKILL under refresh load', async (t) => {
    await killUnderLoad(t, cluster, a, b, log)
  })
})

/** Polls node `index` until the app's denylist insert is under way there (blocked); returns how long that took. */
async function waitForLockWait(cluster: GaleraCluster, index: number): Promise<number> {
  const session = await cluster.connect(index)
  const started = Date.now()
  try {
    while (Date.now() - started < 4000) {
      // An autocommit insert waiting on a row lock is not listed in INNODB_TRX; the process list shows it
      // (quoted or not: the repository writes raw SQL).
      const rows = await session.query<unknown[]>(
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE STATE = 'Update' AND INFO LIKE 'INSERT INTO%revoked_tokens%'",
      )
      if (rows.length > 0) return Date.now() - started
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error('the app never waited on the lock')
  } finally {
    await session.end()
  }
}

interface Sample {
  on: 'A' | 'B'
  start: number
  end: number
  status: number
  code?: string
  presented: string
  successor?: string
}

type Instance = TestApp & { url: string }

async function killUnderLoad(
  t: Test,
  cluster: GaleraCluster,
  a: Instance,
  b: Instance,
  log: (line: string) => void,
) {
  const deadlineMs = b.config.database.operationTimeoutMs
  const graceMs = b.config.jwt.reuseGraceSeconds * 1000
  const samples: Sample[] = []
  let running = true
  let relogins = 0

  // One user for the load; every client's refresh tokens belong to a login (family) of its own.
  const email = uniqueEmail('galera-load')
  t.equal((await call(a.url, '/auth/register', { email, password: PASSWORD })).status, 201)
  const backOff = () => new Promise((resolve) => setTimeout(resolve, 100))

  const client = async (on: 'A' | 'B') => {
    const base = on === 'A' ? a.url : b.url
    let token: string | null = null
    while (running) {
      if (!token) {
        const login = await call(base, '/auth/login', { email, password: PASSWORD })
        if (login.status !== 200) {
          await backOff()
          continue
        }
        token = (login.body as Tokens).refreshToken
      }
      const start = Date.now()
      const answer = await call(base, '/auth/refresh', { refreshToken: token })
      const sample: Sample = { on, start, end: Date.now(), status: answer.status, presented: jtiOf(token) }
      if (typeof answer.body.code === 'string') sample.code = answer.body.code
      samples.push(sample)
      if (answer.status === 200) {
        token = answer.body.refreshToken as string
        sample.successor = jtiOf(token)
      } else if (answer.status === 401) {
        // The login was ended (a replay outside grace after the outage): a real client logs in again.
        relogins++
        token = null
      } else {
        await backOff() // a client retries a 503 after a pause, with the same token
      }
    }
  }
  const clients = [...Array.from({ length: 3 }, () => client('A')), ...Array.from({ length: 3 }, () => client('B'))]
  const waitUntil = async (check: () => boolean, timeoutMs: number, what: string) => {
    const started = Date.now()
    while (!check()) {
      if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  let killedAt = 0
  let rejoinedAt = 0
  let rejoinMs = 0
  try {
    await waitUntil(() => samples.filter((s) => s.on === 'B' && s.status === 200).length >= 20, 10_000, 'load on B')
    killedAt = Date.now()
    await cluster.killNode(1)
    await waitUntil(() => samples.some((s) => s.on === 'B' && s.start >= killedAt && s.status === 503), 10_000, 'a 503 on B')
    // Keep the outage up long enough that A's serving on two nodes is seen, then bring node 1 back.
    await waitUntil(() => Date.now() - killedAt > 3000, 5000, 'outage')
    const restart = Date.now()
    await cluster.startNode(1)
    rejoinedAt = Date.now()
    rejoinMs = rejoinedAt - restart
    await waitUntil(() => samples.some((s) => s.on === 'B' && s.start >= rejoinedAt && s.status === 200), 15_000, 'B recovering')
    const recoveredAt = samples.find((s) => s.on === 'B' && s.start >= rejoinedAt && s.status === 200)!.end
    await waitUntil(() => Date.now() - recoveredAt > 1000, 5000, 'load after recovery')
    running = false
    await Promise.all(clients)
    await cluster.waitForSynced()

    const onA = samples.filter((s) => s.on === 'A')
    const onB = samples.filter((s) => s.on === 'B')
    const outageB = onB.filter((s) => s.end >= killedAt && s.start < rejoinedAt)
    const first503 = onB.filter((s) => s.status === 503 && s.end >= killedAt).sort((x, y) => x.end - y.end)[0]!
    const slowest503 = Math.max(...onB.filter((s) => s.status === 503).map((s) => s.end - s.start))
    const aDuringOutage = onA.filter((s) => s.end >= killedAt && s.start < rejoinedAt)
    const aFiveXx = onA.filter((s) => s.status >= 500).length
    const aSlowest = Math.max(...aDuringOutage.map((s) => s.end - s.start))
    const bOther = onB.filter((s) => s.status !== 200 && s.status !== 503 && s.status !== 401)

    t.ok(first503.end - killedAt <= deadlineMs + 1000, 'the instance on the dead node answers 503 within the deadline')
    t.ok(slowest503 <= deadlineMs + 1000, `every 503 came within the ${deadlineMs} ms deadline (slowest ${slowest503} ms)`)
    const aFailures = onA.filter((s) => s.status >= 500).map((s) => `${s.status} ${s.code ?? ''} at +${s.end - killedAt} ms`)
    t.equal(aFiveXx, 0, 'the instance on a live node kept serving', { failures: aFailures.slice(0, 10) })
    t.ok(aDuringOutage.length > 0 && aDuringOutage.every((s) => s.status === 200), 'A answered 200 throughout the outage')
    t.same(bOther, [], 'B answered only 200, 503 or 401')

    // A token may be honoured twice only inside the grace window, and then with the same successor.
    const accepted = new Map<string, Sample[]>()
    for (const s of samples) if (s.status === 200) accepted.set(s.presented, [...(accepted.get(s.presented) ?? []), s])
    let twice = 0
    let outsideGrace = 0
    let twoSuccessors = 0
    for (const list of accepted.values()) {
      if (list.length < 2) continue
      twice++
      if (new Set(list.map((s) => s.successor)).size > 1) twoSuccessors++
      if (list[list.length - 1]!.start - list[0]!.end > graceMs) outsideGrace++
    }
    t.equal(twoSuccessors, 0, 'no token was exchanged for two different successors')
    t.equal(outsideGrace, 0, 'no token was accepted twice outside the grace window')

    const recovery = recoveredAt - rejoinedAt
    log(
      `SIGKILL of node 1 under load (${samples.length} refreshes, 3 clients per instance): first 503 on B ${first503.end - killedAt} ms after the kill, ` +
        `slowest 503 ${slowest503} ms (deadline ${deadlineMs} ms); B during the outage: ${outageB.filter((s) => s.status === 503).length} x 503, ` +
        `${outageB.filter((s) => s.status === 200).length} x 200`,
    )
    log(
      `A during the outage: ${aDuringOutage.length} refreshes, ${aDuringOutage.filter((s) => s.status === 200).length} x 200, slowest ${aSlowest} ms; 5xx on A overall: ${aFiveXx}`,
    )
    log(
      `node 1 rejoined (Synced) in ${rejoinMs} ms; B answered 200 again ${recovery} ms after that, without a restart; ` +
        `tokens accepted twice: ${twice} (all inside grace, same successor); logins ended by a late replay: ${relogins}`,
    )
  } finally {
    running = false
    await Promise.allSettled(clients)
  }
}
