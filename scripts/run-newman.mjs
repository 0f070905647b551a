// Runs the Postman collection (clients/postman) against a live server and fails on any failed request or test.
// usage: node scripts/run-newman.mjs [base-url]     (default http://127.0.0.1:3000)
import { fileURLToPath } from 'node:url'
import newman from 'newman'

const baseUrl = (process.argv[2] ?? 'http://127.0.0.1:3000').replace(/\/+$/, '')
const postman = (file) => fileURLToPath(new URL(`../clients/postman/${file}`, import.meta.url))

newman.run(
  {
    collection: postman('jwt-auth-api.postman_collection.json'),
    environment: postman('local.postman_environment.json'),
    envVar: [{ key: 'baseUrl', value: baseUrl }],
    reporters: ['cli'],
    timeoutRequest: 10_000,
  },
  (error, summary) => {
    if (error) console.error(error)
    process.exitCode = error || summary.run.error || summary.run.failures.length > 0 ? 1 : 0
  },
)
