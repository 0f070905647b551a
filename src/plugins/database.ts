import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { openDatabase, type Database } from '../db/prisma.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Database
  }
}

async function database(app: FastifyInstance, options: { database: Config['database'] }) {
  const db = openDatabase(options.database)
  app.decorate('db', db)
  app.addHook('onClose', async () => {
    await db.close()
  })
}

export default fp(database, { name: 'database' })
