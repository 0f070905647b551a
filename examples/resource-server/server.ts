// usage: AUTH_SERVER_URL=http://127.0.0.1:3000 node --import tsx examples/resource-server/server.ts
import { buildResourceServer } from './app.js'

const app = buildResourceServer({
  authServerUrl: process.env.AUTH_SERVER_URL ?? 'http://127.0.0.1:3000',
  issuer: process.env.JWT_ISSUER ?? 'jwt-auth-api',
  audience: process.env.JWT_AUDIENCE ?? 'jwt-auth-api',
  logger: true,
})
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 4000) })
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close())
