/**
 * The servers scenarios can run against, started one at a time in scenario order. Each gets the bench
 * environment (bench/run.ts) plus its own `env`. A cluster comparison is one more entry here (and
 * scenarios naming it): bench/server/server.mjs would read the worker count from its env, and the RSS
 * to report would be the sum over the workers.
 */
export interface ServerSpec {
  id: string
  title: string
  env: Record<string, string>
}

export const SERVERS: Record<string, ServerSpec> = {
  single: { id: 'single', title: 'one Node.js process', env: {} },
}
