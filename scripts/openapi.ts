// Writes openapi.yaml from the route schemas: `npm run openapi`. The file is committed, and a test fails
// when it differs from what the code generates.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderOpenApi } from './openapi-document.js'

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
writeFileSync(target, await renderOpenApi())
console.log(`wrote ${target}`)
