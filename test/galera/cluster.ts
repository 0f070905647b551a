import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { createConnection, type Connection } from 'mariadb'
import { freePort } from '../helpers/server-process.js'

/**
 * A throwaway Galera cluster on this machine, from Debian's mariadb-server and galera-4: every node has
 * its own data directory under one temporary folder and its own ports, binds 127.0.0.1 only, and runs as
 * the `mysql` user (rsync state transfer as root fails with "Permission denied"). It never touches the
 * shared MariaDB on 3306.
 */

const PROVIDER = '/usr/lib/galera/libgalera_smm.so'
const MYSQL_USER = 'mysql'

export interface NodePorts {
  sql: number
  gcomm: number
  ist: number
  sst: number
}

export interface GaleraNode {
  index: number
  ports: NodePorts
  /** A root URL for this node, without a database. */
  url: string
  /** Running process, or null while the node is down. */
  child: ChildProcess | null
}

export interface ClusterOptions {
  size?: number
  /** Extra `--name=value` server options for every node. */
  serverOptions?: string[]
  /** Extra `key=value` Galera provider options for every node (joined into one wsrep_provider_options). */
  providerOptions?: string[]
  log?: (line: string) => void
}

/** Every cluster this process started, so an exit handler can kill its nodes and remove its folder. */
const live = new Set<GaleraCluster>()
let handlersInstalled = false

function installExitHandlers() {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', () => {
    for (const cluster of live) cluster.destroySync()
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const cluster of live) cluster.destroySync()
      process.exit(130)
    })
  }
}

function idOf(uid: string): { uid: number; gid: number } {
  const out = (flag: string) => Number(spawnSync('id', [flag, uid], { encoding: 'utf8' }).stdout.trim())
  return { uid: out('-u'), gid: out('-g') }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class GaleraCluster {
  readonly nodes: GaleraNode[] = []
  readonly #base: string
  readonly #options: string[]
  readonly #providerOptions: string[]
  readonly #log: (line: string) => void
  readonly #owner = idOf(MYSQL_USER)

  private constructor(base: string, ports: NodePorts[], options: ClusterOptions) {
    this.#base = base
    this.#options = options.serverOptions ?? []
    this.#providerOptions = options.providerOptions ?? []
    this.#log = options.log ?? (() => undefined)
    this.nodes = ports.map((p, index) => ({ index, ports: p, url: `mysql://root@127.0.0.1:${p.sql}/`, child: null }))
  }

  /** Creates the data directories, bootstraps node 0, joins the others one by one, and waits for Synced. */
  static async start(options: ClusterOptions = {}): Promise<GaleraCluster> {
    installExitHandlers()
    // Under /tmp (world-traversable), so that the mysql user can reach its data directories.
    const base = mkdtempSync('/tmp/jwt-galera-')
    const ports: NodePorts[] = []
    for (let i = 0; i < (options.size ?? 3); i++) {
      ports.push({ sql: await freePort(), gcomm: await freePort(), ist: await freePort(), sst: await freePort() })
    }
    const cluster = new GaleraCluster(base, ports, options)
    live.add(cluster)
    try {
      chownSync(base, cluster.#owner.uid, cluster.#owner.gid)
      cluster.#installDataDirectory(0)
      for (const node of cluster.nodes) cluster.#makeNodeDirs(node.index)
      await cluster.startNode(0, { bootstrap: true })
      for (const node of cluster.nodes.slice(1)) await cluster.startNode(node.index)
      await cluster.waitForSynced()
      return cluster
    } catch (error) {
      await cluster.destroy()
      throw error
    }
  }

  #dir(index: number, ...parts: string[]) {
    return path.join(this.#base, `node${index}`, ...parts)
  }

  #makeNodeDirs(index: number) {
    for (const dir of [this.#dir(index), this.#dir(index, 'data'), this.#dir(index, 'tmp')]) {
      mkdirSync(dir, { recursive: true })
      chownSync(dir, this.#owner.uid, this.#owner.gid)
    }
  }

  /** The bootstrap node's system tables; joiners receive theirs by state transfer (rsync). */
  #installDataDirectory(index: number) {
    this.#makeNodeDirs(index)
    const result = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--user=${MYSQL_USER}`,
        `--datadir=${this.#dir(index, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      { encoding: 'utf8' },
    )
    if (result.status !== 0) throw new Error(`mariadb-install-db failed:\n${result.stdout}\n${result.stderr}`)
  }

  #args(index: number, bootstrap: boolean): string[] {
    const { ports } = this.nodes[index]!
    const peers = this.nodes.map((node) => `127.0.0.1:${node.ports.gcomm}`).join(',')
    return [
      '--no-defaults',
      `--user=${MYSQL_USER}`,
      `--datadir=${this.#dir(index, 'data')}`,
      `--tmpdir=${this.#dir(index, 'tmp')}`,
      `--socket=${this.#dir(index, 'mysqld.sock')}`,
      `--pid-file=${this.#dir(index, 'mysqld.pid')}`,
      `--log-error=${this.#dir(index, 'error.log')}`,
      `--port=${ports.sql}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      // Galera's own requirements: row-based write-sets, no table-level auto-increment lock.
      '--binlog-format=ROW',
      '--innodb-autoinc-lock-mode=2',
      '--default-storage-engine=InnoDB',
      // Small and quick: this is a test cluster on a two-core machine.
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--innodb-flush-log-at-trx-commit=2',
      '--performance-schema=OFF',
      '--max-connections=200',
      '--wsrep-on=ON',
      `--wsrep-provider=${PROVIDER}`,
      '--wsrep-cluster-name=jwt-test',
      `--wsrep-node-name=node${index}`,
      `--wsrep-node-address=127.0.0.1:${ports.gcomm}`,
      `--wsrep-node-incoming-address=127.0.0.1:${ports.sql}`,
      `--wsrep-cluster-address=gcomm://${peers}`,
      `--wsrep-provider-options=${[
        `gmcast.listen_addr=tcp://127.0.0.1:${ports.gcomm}`,
        `ist.recv_addr=127.0.0.1:${ports.ist}`,
        'gcache.size=32M',
        ...this.#providerOptions,
      ].join(';')}`,
      '--wsrep-sst-method=rsync',
      `--wsrep-sst-receive-address=127.0.0.1:${ports.sst}`,
      ...this.#options,
      ...(bootstrap ? ['--wsrep-new-cluster'] : []),
    ]
  }

  /** Starts a node (again) and waits until it is Synced and accepts SQL. */
  async startNode(index: number, { bootstrap = false } = {}): Promise<void> {
    const node = this.nodes[index]!
    if (node.child) throw new Error(`node${index} is already running`)
    const errorLog = this.#dir(index, 'error.log')
    const logOffset = existsSync(errorLog) ? statSync(errorLog).size : 0
    // Its own process group, so that stopping it also ends the rsync helpers a state transfer spawns.
    const args = [...this.#args(index, bootstrap), ...this.#recoveredStartPosition(index)]
    const child = spawn('/usr/sbin/mariadbd', args, { detached: true, stdio: 'ignore' })
    node.child = child
    child.once('exit', () => {
      if (node.child === child) node.child = null
    })
    const started = Date.now()
    await this.#waitFor(index, 90_000, async (status) => status.wsrep_local_state_comment === 'Synced' && status.wsrep_ready === 'ON')
    const transfer = bootstrap ? '' : ` (${this.#stateTransferSince(index, logOffset)})`
    this.#log(`node${index} ${bootstrap ? 'bootstrapped' : 'joined'} in ${Date.now() - started} ms${transfer}`)
  }

  /**
   * After a crash grastate.dat says seqno -1, and a node started as is asks for a full SST; the donor's
   * rsync then holds a global read lock, stalling the commits of every client on that node. The packaged
   * service (galera_recovery) first reads the position InnoDB committed, so the node rejoins by IST from
   * the donors' gcache: do the same.
   */
  #recoveredStartPosition(index: number): string[] {
    if (!existsSync(this.#dir(index, 'data', 'grastate.dat'))) return []
    const errorLog = this.#dir(index, 'error.log')
    const offset = statSync(errorLog).size
    const result = spawnSync('/usr/sbin/mariadbd', [...this.#args(index, false), '--wsrep-recover'], { encoding: 'utf8' })
    const logged = readFileSync(errorLog).subarray(offset).toString('utf8')
    const position = /WSREP: Recovered position: ([0-9a-f-]{36}:-?\d+)/.exec(logged)?.[1]
    if (result.status !== 0 || !position) throw new Error(`node${index}: --wsrep-recover found no position:\n${logged.slice(-2000)}`)
    return [`--wsrep-start-position=${position}`]
  }

  /** How the joiner got its state, from its error log after `offset`: which donor, and IST or a full SST. */
  #stateTransferSince(index: number, offset: number): string {
    const logged = readFileSync(this.#dir(index, 'error.log')).subarray(offset).toString('utf8')
    const donor = /Selected \d+\.\d+ \(([^)]+)\)\([^)]*\) as donor/.exec(logged)?.[1] ?? 'unknown donor'
    // rsync's script runs for both; it names which one it did.
    const kind = /rsync IST completed/.test(logged) ? 'IST' : /rsync SST completed/.test(logged) ? 'full SST' : 'no transfer'
    return `${kind} from ${donor}`
  }

  /** SIGKILL to the node's whole process group: a crash, no clean shutdown. */
  async killNode(index: number): Promise<void> {
    const node = this.nodes[index]!
    const child = node.child
    if (!child?.pid) return
    const exited = once(child, 'exit')
    process.kill(-child.pid, 'SIGKILL')
    await exited
    node.child = null
  }

  /** The wsrep status of one node. */
  async status(index: number): Promise<Record<string, string>> {
    const connection = await this.connect(index)
    try {
      const rows = await connection.query<{ Variable_name: string; Value: string }[]>("SHOW GLOBAL STATUS LIKE 'wsrep_%'")
      return Object.fromEntries(rows.map((row) => [row.Variable_name, row.Value]))
    } finally {
      await connection.end()
    }
  }

  /** Waits until every running node reports the full cluster size and Synced. */
  async waitForSynced(timeoutMs = 60_000): Promise<void> {
    const expected = String(this.nodes.length)
    for (const node of this.nodes) {
      await this.#waitFor(node.index, timeoutMs, async (status) => status.wsrep_cluster_size === expected && status.wsrep_local_state_comment === 'Synced')
    }
  }

  async #waitFor(index: number, timeoutMs: number, check: (status: Record<string, string>) => Promise<boolean>) {
    const started = Date.now()
    let last = 'no answer'
    while (Date.now() - started < timeoutMs) {
      if (this.nodes[index]!.child === null) throw new Error(`node${index} exited:\n${this.errorLog(index)}`)
      try {
        const status = await this.status(index)
        if (await check(status)) return
        last = `${status.wsrep_local_state_comment}, cluster size ${status.wsrep_cluster_size}`
      } catch (error) {
        last = (error as Error).message
      }
      // Polling cluster state: there is no event to wait for.
      await delay(250)
    }
    throw new Error(`node${index} not ready within ${timeoutMs} ms (${last}):\n${this.errorLog(index)}`)
  }

  connect(index: number, database?: string): Promise<Connection> {
    return createConnection({
      host: '127.0.0.1',
      port: this.nodes[index]!.ports.sql,
      user: 'root',
      database,
      connectTimeout: 2000,
    })
  }

  /** The node's database URL for `database`. */
  urlFor(index: number, database: string): string {
    return `mysql://root@127.0.0.1:${this.nodes[index]!.ports.sql}/${database}`
  }

  errorLog(index: number, lines = 40): string {
    try {
      return readFileSync(this.#dir(index, 'error.log'), 'utf8').split('\n').slice(-lines).join('\n')
    } catch {
      return '(no error log)'
    }
  }

  /** Kills every node and removes the data directories. Safe to call twice. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.killNode(node.index)))
    this.destroySync()
  }

  /** The synchronous part, for process exit handlers. */
  destroySync(): void {
    for (const node of this.nodes) {
      if (node.child?.pid) {
        try {
          process.kill(-node.child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.#base, { recursive: true, force: true })
    live.delete(this)
  }
}
