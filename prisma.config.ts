import { defineConfig } from 'prisma/config'

// Prisma 7 reads the connection URL here, not from schema.prisma. The CLI needs it for
// `prisma migrate deploy`; the running server builds its own pool from DATABASE_URL (src/config.ts).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/jwt_api' },
})
