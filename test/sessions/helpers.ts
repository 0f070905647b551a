import type { FastifyInstance } from 'fastify'
import { PASSWORD, post, type Tokens } from '../helpers/http.js'

export const FIREFOX = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0'
export const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
export const CURL = 'curl/8.5.0'

export interface SessionItem {
  id: string
  device: string
  userAgent: string | null
  ip: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  rememberMe: boolean
  current: boolean
}

export interface EventItem {
  id: string
  type: string
  at: string
  ip: string | null
  device: string | null
  sessionId: string | null
  details: Record<string, unknown>
}

const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })

/** Logs in from a client with this User-Agent. */
export async function loginFrom(app: FastifyInstance, email: string, userAgent: string, extra: object = {}): Promise<Tokens> {
  const response = await post(app, '/auth/login', { email, password: PASSWORD, ...extra }, { 'user-agent': userAgent })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
  return response.json<Tokens>()
}

export async function listSessions(app: FastifyInstance, accessToken: string): Promise<SessionItem[]> {
  const response = await app.inject({ method: 'GET', url: '/me/sessions', headers: bearer(accessToken) })
  if (response.statusCode !== 200) throw new Error(`GET /me/sessions: ${response.statusCode} ${response.body}`)
  return response.json<{ items: SessionItem[] }>().items
}

export const endSession = (app: FastifyInstance, accessToken: string, id: string) =>
  app.inject({ method: 'DELETE', url: `/me/sessions/${encodeURIComponent(id)}`, headers: bearer(accessToken) })

export const endOtherSessions = (app: FastifyInstance, accessToken: string) =>
  app.inject({ method: 'DELETE', url: '/me/sessions?scope=others', headers: bearer(accessToken) })

export async function eventPage(app: FastifyInstance, accessToken: string, query = '') {
  const response = await app.inject({ method: 'GET', url: `/me/events${query}`, headers: bearer(accessToken) })
  if (response.statusCode !== 200) throw new Error(`GET /me/events: ${response.statusCode} ${response.body}`)
  return response.json<{ items: EventItem[]; nextCursor: string | null }>()
}

/** Every event of the user, newest first, following the cursors. */
export async function allEvents(app: FastifyInstance, accessToken: string): Promise<EventItem[]> {
  const items: EventItem[] = []
  let cursor: string | null = null
  do {
    const page: Awaited<ReturnType<typeof eventPage>> = await eventPage(app, accessToken, `?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return items
}
