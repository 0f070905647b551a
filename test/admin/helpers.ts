import type { FastifyInstance } from 'fastify'
import type { Connection } from 'mariadb'
import { login, registerUser, type Tokens } from '../helpers/http.js'

export interface AdminUserItem {
  id: string
  email: string
  role: 'user' | 'admin'
  emailVerified: boolean
  disabled: boolean
  disabledAt: string | null
  disabledReason: string | null
  createdAt: string
  lastLoginAt: string | null
  sessions: number
}

export const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })

/** A registered user made admin in the database (as user:create would), logged in. */
export async function adminFor(app: FastifyInstance, db: Connection): Promise<{ id: string; email: string; tokens: Tokens }> {
  const user = await registerUser(app)
  await db.query("UPDATE users SET role = 'admin' WHERE id = ?", [user.id])
  return { id: user.id, email: user.email, tokens: await login(app, user.email) }
}

export const adminGet = (app: FastifyInstance, accessToken: string, url: string) =>
  app.inject({ method: 'GET', url, headers: bearer(accessToken) })

export const patchUser = (app: FastifyInstance, accessToken: string, id: string, payload: object) =>
  app.inject({ method: 'PATCH', url: `/admin/users/${id}`, headers: bearer(accessToken), payload })

export const revokeSessionsOf = (app: FastifyInstance, accessToken: string, id: string) =>
  app.inject({ method: 'POST', url: `/admin/users/${id}/sessions/revoke`, headers: bearer(accessToken) })

export const deleteUser = (app: FastifyInstance, accessToken: string, id: string) =>
  app.inject({ method: 'DELETE', url: `/admin/users/${id}`, headers: bearer(accessToken) })
