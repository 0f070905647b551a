import { stringify } from 'yaml'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/**
 * The OpenAPI document as YAML, generated from the route schemas of a real app instance. Deterministic:
 * it does not depend on keys, ports or the database (which it never connects to).
 */
export async function renderOpenApi(): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PRUNE_INTERVAL_SECONDS: '0', DATABASE_URL: 'mysql://openapi@127.0.0.1:1/none' })
  const app = await buildApp(config)
  try {
    await app.ready()
    return stringify(app.swagger(), { lineWidth: 0, aliasDuplicateObjects: false })
  } finally {
    await app.close()
  }
}
