import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

export const PASSWORD = 'correct horse battery staple'

export interface Tokens {
  tokenType: 'Bearer'
  accessToken: string
  expiresIn: number
  refreshToken?: string
  refreshExpiresIn: number
}

let counter = 0
/** A fresh, valid email per call, so tests never collide with each other's users. */
export const uniqueEmail = (label = 'user') => `${label}.${process.pid}.${++counter}@example.com`

export function post(app: FastifyInstance, url: string, payload?: object, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, payload, headers })
}

export async function registerUser(app: FastifyInstance, email = uniqueEmail(), password = PASSWORD, headers: Record<string, string> = {}) {
  const response = await post(app, '/auth/register', { email, password }, headers)
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`)
  return { email, password, id: response.json<{ id: string }>().id }
}

export async function login(app: FastifyInstance, email: string, password = PASSWORD, extra: object = {}): Promise<Tokens> {
  const response = await post(app, '/auth/login', { email, password, ...extra })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
  return response.json<Tokens>()
}

/** Registers a new user and logs in with body transport. */
export async function session(app: FastifyInstance, extra: object = {}) {
  const user = await registerUser(app)
  return { user, tokens: await login(app, user.email, user.password, extra) }
}

export const refresh = (app: FastifyInstance, refreshToken: string) => post(app, '/auth/refresh', { refreshToken })

export const me = (app: FastifyInstance, accessToken: string) =>
  app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${accessToken}` } })

export function problemOf(response: LightMyRequestResponse) {
  return response.json<{ type: string; title: string; status: number; detail: string; code: string; errors?: unknown[] }>()
}

/** The cookie named `name` from a response's Set-Cookie headers. */
export function cookieOf(response: LightMyRequestResponse, name: string) {
  return response.cookies.find((cookie) => cookie.name === name)
}

/** Logs in with cookie transport and returns the refresh_token cookie's value. */
export async function cookieLogin(app: FastifyInstance, user: { email: string; password: string }, extra: object = {}) {
  const response = await post(app, '/auth/login', { email: user.email, password: user.password, transport: 'cookie', ...extra })
  const cookie = cookieOf(response, 'refresh_token')?.value
  if (response.statusCode !== 200 || !cookie) throw new Error(`cookie login failed: ${response.statusCode} ${response.body}`)
  return cookie
}

/** A POST that relies on the refresh_token cookie, with the CSRF header unless told otherwise. */
export function postWithCookie(app: FastifyInstance, url: string, cookie: string, csrf: string | null = 'XMLHttpRequest') {
  return app.inject({
    method: 'POST',
    url,
    cookies: { refresh_token: cookie },
    headers: csrf === null ? {} : { 'x-requested-with': csrf },
  })
}
