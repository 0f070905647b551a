import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** Prunes the denylist, links and old mail every `intervalSeconds` (0 turns it off). A run never overlaps the previous one. */
async function pruneJob(app: FastifyInstance, options: { intervalSeconds: number }) {
  if (options.intervalSeconds <= 0) return
  let running: Promise<void> | undefined

  const run = () => {
    if (running) return
    running = app.pruner
      .prune()
      .then((deleted) => {
        if (Object.values(deleted).some((count) => count > 0)) app.log.info({ deleted }, 'pruned expired rows')
      })
      .catch((error: unknown) => app.log.warn({ err: error }, 'prune failed; will retry at the next interval'))
      .finally(() => {
        running = undefined
      })
  }

  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    timer = setInterval(run, options.intervalSeconds * 1000)
    timer.unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await running
  })
}

export default fp(pruneJob, { name: 'prune-job', dependencies: ['services'] })
