import { parseArgs } from 'node:util'
import { systemClock } from '../clock.js'
import { ConfigError, loadDatabaseConfig, loadDotEnv, loadMailDeliveryConfig, type Config } from '../config.js'
import { openDatabase } from '../db/prisma.js'
import { migrateDatabase, openSession, resolveFailedMigration } from './migrate.js'
import { MIGRATIONS_DIR, readMigrations } from './migration-files.js'
import { MigrationError } from './migration-error.js'
import { migrationStatus } from './migrator.js'
import { createRevokedTokenRepository } from '../tokens/revoked-token-repository.js'
import { createAccountLinkRepository } from '../account/account-link-repository.js'
import { createMailDelivery, domainOf } from '../mail/mail-delivery.js'
import { createMailOutboxRepository } from '../mail/mail-outbox-repository.js'
import { createLogTransport, createSmtpTransport, type MailLog } from '../mail/mail-transport.js'
import { createAuthEventRepository } from '../events/auth-event-repository.js'
import { createSessionRepository } from '../sessions/session-repository.js'
import { createPruner, PRUNE_BATCH_SIZE, PRUNE_PAUSE_MS, pruneTablesOf } from '../maintenance/pruner.js'

const USAGE = `usage: node dist/deploy/cli.js <command>     (npm run db:<command> -- [options])

  migrate [--create-database]   apply pending migrations (prisma migrate deploy, or the built-in applier)
  check                         connect, print the server version and pending or failed migrations;
                                exits 1 when the database is unreachable or behind
  resolve --rolled-back NAME    after repairing a failed migration by hand: let the next deploy retry it
  resolve --applied NAME        ... or record it as applied (you completed it by hand)
  prune [--batch-size N]        delete expired denylist rows, links and old mail, in batches (default ${PRUNE_BATCH_SIZE}) with a pause
        [--pause-ms N]          between them (default ${PRUNE_PAUSE_MS} ms), printing progress
  deliver-mail                  send every mail that is due now (npm run mail:deliver), then exit; mails whose
                                retry is not due yet stay queued for the server's worker or the next run`

/** Prints a URL with its password masked. */
const safeUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')

async function migrate(database: Config['database'], createDatabase: boolean): Promise<number> {
  await migrateDatabase(database.url, { createDatabase, schemaEngine: database.schemaEngineBinary, log: (line) => console.log(line) })
  return 0
}

async function check(databaseUrl: string): Promise<number> {
  console.log(`Database: ${safeUrl(databaseUrl)}`)
  const session = await openSession(databaseUrl)
  try {
    const [row] = await session.query<{ version: string; sqlMode: string }[]>('SELECT VERSION() AS version, @@sql_mode AS sqlMode')
    console.log(`Connected: server version ${row?.version ?? 'unknown'}`)
    const strict = /STRICT_(TRANS|ALL)_TABLES/.test(row?.sqlMode ?? '')
    console.log(`SQL mode: ${row?.sqlMode || '(empty)'}${strict ? '' : '  <- warning: not strict; too-long values would be truncated silently'}`)
    const status = await migrationStatus(session, await readMigrations(MIGRATIONS_DIR))
    console.log(`Applied migrations: ${status.applied.length}`)
    for (const record of status.failed) console.log(`FAILED: ${record.migrationName} (started ${record.startedAt.toISOString()})`)
    for (const record of status.edited) console.log(`CHANGED AFTER APPLYING: ${record.migrationName}`)
    for (const file of status.pending) console.log(`Pending: ${file.name}`)
    const healthy = status.failed.length === 0 && status.edited.length === 0 && status.pending.length === 0
    console.log(healthy ? 'Database schema is up to date.' : 'Database schema is NOT up to date: run npm run db:migrate.')
    return healthy ? 0 : 1
  } finally {
    await session.end()
  }
}

async function prune(database: Config['database'], batchSize: number, pauseMs: number): Promise<number> {
  const db = openDatabase(database)
  try {
    const tables = pruneTablesOf(
      {
        revocations: createRevokedTokenRepository(db.prisma),
        links: createAccountLinkRepository(db.prisma),
        outbox: createMailOutboxRepository(db.prisma),
        sessions: createSessionRepository(db.prisma),
        events: createAuthEventRepository(db.prisma),
      },
      { eventRetentionDays: database.authEventRetentionDays },
    )
    const pruner = createPruner({ tables, clock: systemClock })
    const shown: Record<string, number> = {}
    const deleted = await pruner.prune({
      batchSize,
      pauseMs,
      onBatch: (table, total) => {
        if (total - (shown[table] ?? 0) >= 10_000) {
          console.log(`... ${table}: ${total} rows deleted so far`)
          shown[table] = total
        }
      },
    })
    // The denylist line comes last: scripts (and the bench) read it as the command's result.
    console.log(`Pruned ${deleted.links ?? 0} expired link(s) and ${deleted.mail ?? 0} finished mail(s).`)
    const sessions = (deleted.sessions ?? 0) + (deleted['ended sessions'] ?? 0)
    console.log(`Pruned ${sessions} ended or expired session(s) and ${deleted.events ?? 0} security event(s) past retention.`)
    console.log(`Pruned ${deleted.denylist ?? 0} expired denylist row(s).`)
    return 0
  } finally {
    await db.close()
  }
}

/** pino's (fields, message) calls, printed on the console. */
const consoleLog: MailLog = {
  info: ((fields: object, message?: string) => console.log(message ?? '', JSON.stringify(fields))) as MailLog['info'],
  warn: ((fields: object, message?: string) => console.warn(message ?? '', JSON.stringify(fields))) as MailLog['warn'],
  error: ((fields: object, message?: string) => console.error(message ?? '', JSON.stringify(fields))) as MailLog['error'],
}

async function deliverMail(config: Pick<Config, 'database' | 'mail'>): Promise<number> {
  const db = openDatabase(config.database)
  const outbox = createMailOutboxRepository(db.prisma)
  const { smtpUrl, from, maxAttempts } = config.mail
  const transport = smtpUrl ? createSmtpTransport(smtpUrl, from) : createLogTransport(consoleLog)
  let shown = 0
  const delivery = createMailDelivery({
    outbox,
    transaction: (work, options) => db.transaction(work, options),
    transport,
    clock: systemClock,
    log: consoleLog,
    maxAttempts,
    messageIdDomain: domainOf(from),
    onBatch: ({ sent, retried, failed }) => {
      if (sent + retried + failed - shown < 100) return
      shown = sent + retried + failed
      console.log(`... ${sent} sent, ${retried} to retry, ${failed} failed so far`)
    },
  })
  try {
    const { sent, retried, failed } = await delivery.drain()
    console.log(`Sent ${sent} mail(s); ${retried} will be retried; ${failed} failed for good.`)
    const left = await outbox.pending()
    console.log(
      left.nextAttemptAt
        ? `${left.count} mail(s) still queued; the next is due at ${left.nextAttemptAt.toISOString()}.`
        : 'The outbox holds no queued mail.',
    )
    return 0
  } finally {
    await delivery.stop(0)
    await db.close()
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'create-database': { type: 'boolean', default: false },
      'rolled-back': { type: 'string' },
      applied: { type: 'string' },
      'batch-size': { type: 'string', default: String(PRUNE_BATCH_SIZE) },
      'pause-ms': { type: 'string', default: String(PRUNE_PAUSE_MS) },
      help: { type: 'boolean', default: false },
    },
  })
  const [command] = positionals
  if (values.help || !command) {
    console.log(USAGE)
    return command ? 0 : 2
  }
  loadDotEnv()
  if (command === 'deliver-mail') return deliverMail(loadMailDeliveryConfig())
  const database = loadDatabaseConfig()
  switch (command) {
    case 'migrate':
      return migrate(database, values['create-database'] ?? false)
    case 'check':
      return check(database.url)
    case 'prune': {
      const batchSize = Number(values['batch-size'])
      const pauseMs = Number(values['pause-ms'])
      if (!Number.isInteger(batchSize) || batchSize < 1 || !Number.isInteger(pauseMs) || pauseMs < 0) {
        console.error(`--batch-size must be a positive integer and --pause-ms a whole number of milliseconds\n${USAGE}`)
        return 2
      }
      return prune(database, batchSize, pauseMs)
    }
    case 'resolve': {
      const rolledBack = values['rolled-back']
      const applied = values.applied
      if ((rolledBack === undefined) === (applied === undefined)) {
        console.error(`resolve takes exactly one of --rolled-back NAME or --applied NAME\n${USAGE}`)
        return 2
      }
      const resolution = rolledBack !== undefined ? { rolledBack } : { applied: applied as string }
      await resolveFailedMigration(database.url, resolution, {
        schemaEngine: database.schemaEngineBinary,
        log: (line) => console.log(line),
      })
      return 0
    }
    default:
      console.error(`unknown command ${command}\n${USAGE}`)
      return 2
  }
}

try {
  process.exitCode = await main()
} catch (error) {
  if (error instanceof ConfigError || error instanceof MigrationError) {
    console.error(error.message)
  } else {
    const { code, message } = error as { code?: string; message?: string }
    console.error(`Database error${code ? ` (${code})` : ''}: ${message ?? String(error)}`)
  }
  process.exitCode = 1
}
