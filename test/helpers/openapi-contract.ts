import { readFileSync } from 'node:fs'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'

type Json = Record<string, unknown>

export const OPENAPI_PATH = new URL('../../openapi.yaml', import.meta.url)
export const openapi = parse(readFileSync(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, Json>> }

// Served by plugins, not described in the document.
const UNDOCUMENTED = [/^\/docs(\/|$)/, /^\/openapi\.json$/]

const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats.default(ajv)
ajv.addSchema(openapi, 'openapi')
const compiled = new Map<string, ValidateFunction>()

const pointer = (...segments: string[]) =>
  `openapi#/${segments.map((segment) => segment.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`

function validatorFor(ref: string): ValidateFunction {
  let validate = compiled.get(ref)
  if (!validate) {
    validate = ajv.compile({ $ref: ref })
    compiled.set(ref, validate)
  }
  return validate
}

// What a route outside the document (an unknown path: 404) must still answer with.
const validateProblem = ajv.compile({
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
  },
})

/**
 * Checks one response against openapi.yaml: its status must be documented for the path and method, its
 * content type must be one the document gives for that status, and its body must fit the schema.
 */
/** The documented paths with parameters, as patterns: /me/sessions/{id} matches /me/sessions/<anything but a slash>. */
const TEMPLATES = Object.keys(openapi.paths)
  .filter((template) => template.includes('{'))
  .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }))

const documentedPath = (path: string) =>
  openapi.paths[path] ? path : (TEMPLATES.find(({ pattern }) => pattern.test(path))?.template ?? path)

export function checkResponse(method: string, url: string, response: LightMyRequestResponse): string[] {
  const path = documentedPath(url.split('?')[0] ?? url)
  // CORS preflights belong to the browser's protocol, not to the API's operations.
  if (method.toUpperCase() === 'OPTIONS' || UNDOCUMENTED.some((pattern) => pattern.test(path))) return []
  const operation = openapi.paths[path]?.[method.toLowerCase()]
  const status = String(response.statusCode)
  const where = `${method.toUpperCase()} ${path} -> ${status}`
  const contentType = String(response.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''

  if (!operation) {
    if (response.statusCode >= 400 && contentType === 'application/problem+json' && validateProblem(response.json())) return []
    return [`${where}: not in openapi.yaml, and not a problem+json error (${contentType}: ${response.body.slice(0, 200)})`]
  }
  const documented = (operation.responses as Record<string, Json>)[status]
  if (!documented) return [`${where}: status ${status} is not documented`]
  const content = documented.content as Record<string, Json> | undefined
  if (!content) return response.body === '' ? [] : [`${where}: documented without a body, but a body was sent`]
  if (!content[contentType]) return [`${where}: content type ${contentType} is not documented (${Object.keys(content).join(', ')})`]
  const validate = validatorFor(pointer('paths', path, method.toLowerCase(), 'responses', status, 'content', contentType, 'schema'))
  let body: unknown
  try {
    body = response.json()
  } catch {
    return [`${where}: the body is not JSON`]
  }
  if (validate(body)) return []
  return [`${where}: the body does not fit the documented schema: ${ajv.errorsText(validate.errors)} (${response.body.slice(0, 300)})`]
}

/** Makes every app.inject() call of a test check its response against openapi.yaml. */
export function enforceContract(app: FastifyInstance): void {
  const inject = app.inject.bind(app) as (options: InjectOptions | string) => Promise<LightMyRequestResponse>
  const checked = async (options: InjectOptions | string) => {
    const response = await inject(options)
    const { method = 'GET', url = '/' } = typeof options === 'string' ? { url: options } : options
    const problems = checkResponse(String(method), typeof url === 'string' ? url : String(url), response)
    if (problems.length > 0) throw new Error(`Response breaks the OpenAPI contract:\n${problems.join('\n')}`)
    return response
  }
  Object.assign(app, { inject: checked })
}
