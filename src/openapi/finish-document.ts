// Final touches @fastify/swagger cannot express from route schemas alone: problem responses are
// application/problem+json, 204s have no body, optional JSON bodies are optional, every response has a
// real description, and component schemas nobody references are dropped.

type Json = Record<string, unknown>

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '204': 'No Content',
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

function finishRequestBody(operation: Json): void {
  const body = operation.requestBody
  if (!isObject(body) || !isObject(body.content)) return
  const json = body.content['application/json']
  if (!isObject(json) || !isObject(json.schema) || !Array.isArray(json.schema.anyOf)) return
  // A nullish zod body: the request may come without one (cookie transport).
  const variants = json.schema.anyOf as Json[]
  const present = variants.filter((variant) => variant.type !== 'null')
  if (present.length === 1 && variants.length === 2) {
    json.schema = present[0]
    body.required = false
  }
}

/** `example1`, `example2`... (or a lone `example`) become `token_missing`, `token_invalid`..., titled. */
function nameExamplesByCode(mediaType: Json): void {
  if (isObject(mediaType.example)) {
    mediaType.examples = { example1: { value: mediaType.example } }
    delete mediaType.example
  }
  if (!isObject(mediaType.examples)) return
  const named: Json = {}
  for (const [key, example] of Object.entries(mediaType.examples)) {
    const value = isObject(example) && isObject(example.value) ? example.value : undefined
    const code = typeof value?.code === 'string' ? value.code : key
    named[code] = { summary: value?.title, value }
  }
  mediaType.examples = named
}

function finishResponses(operation: Json): void {
  const responses = operation.responses
  if (!isObject(responses)) return
  for (const [status, response] of Object.entries(responses)) {
    if (!isObject(response)) continue
    const content = isObject(response.content) ? response.content : undefined
    const json = content?.['application/json']
    if (status === '204') delete response.content
    if (Number(status) >= 400 && content && isObject(json)) {
      delete content['application/json']
      content['application/problem+json'] = json
      nameExamplesByCode(json)
    }
    const schemaDescription = isObject(json) && isObject(json.schema) ? json.schema.description : undefined
    if (response.description === 'Default Response' || response.description === undefined) {
      response.description = typeof schemaDescription === 'string' ? schemaDescription : (STATUS_TEXT[status] ?? status)
    }
  }
}

function referencedSchemas(document: Json): Set<string> {
  const names = new Set<string>()
  const text = JSON.stringify({ ...document, components: { ...(document.components as Json), schemas: {} } })
  for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) names.add(match[1] as string)
  // Follow references between component schemas until nothing new turns up.
  const schemas = (isObject(document.components) && isObject(document.components.schemas) ? document.components.schemas : {}) as Json
  let grew = true
  while (grew) {
    grew = false
    for (const name of [...names]) {
      for (const match of JSON.stringify(schemas[name] ?? {}).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
        if (!names.has(match[1] as string)) {
          names.add(match[1] as string)
          grew = true
        }
      }
    }
  }
  return names
}

export function finishDocument<T extends object>(document: T): T {
  const doc = document as Json
  for (const pathItem of Object.values(isObject(doc.paths) ? doc.paths : {})) {
    if (!isObject(pathItem)) continue
    for (const operation of Object.values(pathItem)) {
      if (!isObject(operation)) continue
      finishRequestBody(operation)
      finishResponses(operation)
    }
  }
  if (isObject(doc.components) && isObject(doc.components.schemas)) {
    const used = referencedSchemas(doc)
    for (const name of Object.keys(doc.components.schemas)) {
      if (!used.has(name)) delete doc.components.schemas[name]
    }
  }
  return document
}
