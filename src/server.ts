// One server process. For one process per core, see cluster.ts (npm run start:cluster).
import cluster from 'node:cluster'
import closeWithGrace from 'close-with-grace'
import { buildApp, REDACTED_PATHS } from './app.js'
import { isConnectionSetupError } from './db/prisma-errors.js'
import { loadConfigOrExit, migrateInBackgroundUntilDone } from './startup.js'

const config = loadConfigOrExit()
if (config.database.migrateOnStart) await migrateInBackgroundUntilDone(config, (line) => console.log(line))

// A person at a terminal reads lines, not JSON; production, CI and anything piped keep JSON.
const pretty = config.env === 'development' && process.stdout.isTTY
const app = await buildApp(config, {
  logger: {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  },
})
const closer = closeWithGrace(
  {
    delay: 10_000,
    skip: ['unhandledRejection'],
    // A cluster worker can get SIGTERM twice (from its primary, and from a supervisor that signals the whole
    // process group); the second must not cut its graceful close short.
    onSecondSignal: cluster.isWorker ? () => undefined : undefined,
  },
  async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an uncaught error')
    else app.log.info({ signal }, 'closing: finishing in-flight requests')
    await app.close()
  },
)

process.on('unhandledRejection', (reason) => {
  // The MariaDB driver leaves this rejection unhandled when a connection drops while it is being opened;
  // the pool has already counted the failure and will retry, so it is not a reason to stop serving.
  if (isConnectionSetupError(reason)) {
    app.log.warn({ err: reason }, 'a database connection failed while opening')
    return
  }
  app.log.fatal({ err: reason }, 'unhandled promise rejection')
  process.exitCode = 1
  closer.close()
})

const address = await app.listen({ host: config.host, port: config.port })
app.log.info(`Interactive API docs at ${address}/docs`)
