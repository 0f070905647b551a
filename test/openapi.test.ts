import { readFileSync } from 'node:fs'
import { Validator } from '@seriousme/openapi-schema-validator'
import openapiTS, { astToString } from 'openapi-typescript'
import t from 'tap'
import { parse } from 'yaml'
import { renderOpenApi } from '../scripts/openapi-document.js'
import { OPENAPI_PATH } from './helpers/openapi-contract.js'

const committed = readFileSync(OPENAPI_PATH, 'utf8')

t.test('openapi.yaml is exactly what the route schemas generate (run `npm run openapi` after changing them)', async (t) => {
  t.equal(await renderOpenApi(), committed)
})

t.test('openapi.yaml is a valid OpenAPI 3.1 document', async (t) => {
  const result = await new Validator().validate(parse(committed))
  t.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
  t.equal(parse(committed).openapi, '3.1.0')
})

t.test('every error response is documented as application/problem+json with an example per code', async (t) => {
  const document = parse(committed) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { examples?: object }> }> }>> }
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue
        const media = response.content?.['application/problem+json']
        t.ok(media, `${method.toUpperCase()} ${path} ${status} is problem+json`)
        t.ok(media?.examples && Object.keys(media.examples).length > 0, `${method.toUpperCase()} ${path} ${status} has examples`)
      }
    }
  }
})

t.test('clients/typescript/schema.d.ts is generated from the current openapi.yaml (run `npm run client`)', async (t) => {
  const generated = readFileSync(new URL('../clients/typescript/schema.d.ts', import.meta.url), 'utf8')
  const fresh = astToString(await openapiTS(new URL('../openapi.yaml', import.meta.url)))
  // The CLI adds a banner comment above what the library renders.
  t.ok(generated.endsWith(fresh), 'schema.d.ts matches openapi.yaml')
})
