// A typed client for this API: the types are generated from openapi.yaml (`npm run client` writes
// schema.d.ts), the transport is openapi-fetch. Every call returns { data } on success or { error } with
// the problem document, both typed by path, method and status.
import createClient, { type ClientOptions } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, paths }
export type TokenResponse = components['schemas']['TokenResponse']
export type Me = components['schemas']['Me']
export type User = components['schemas']['User']
/** One login as "Where you're signed in" lists it. */
export type SignedInSession = components['schemas']['Session']
export type AuthEvent = components['schemas']['AuthEvent']

/** A client for the API at `baseUrl`. Browsers using the refresh cookie pass `credentials: 'include'`. */
export function createApiClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}) {
  return createClient<paths>({ baseUrl, ...options })
}

export type ApiClient = ReturnType<typeof createApiClient>
