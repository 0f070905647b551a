// CI's live-server stage: starts the built server (npm run build first) on a free port against a fresh
// database, runs clients we did not write against it (newman, curl, the generated TypeScript client), then
// stops it with SIGTERM and expects a clean exit. usage: node scripts/live-checks.mjs
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { createConnection } from 'mariadb'

const root = fileURLToPath(new URL('..', import.meta.url))
const serverUrl = new URL(process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306')
const database = `jwt_live_${process.pid}`
const databaseUrl = new URL(`/${database}`, serverUrl).toString()

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

async function sql(statement) {
  const { hostname, port, username, password } = serverUrl
  const connection = await createConnection({ host: hostname, port: Number(port || 3306), user: username || 'root', password })
  try {
    await connection.query(statement)
  } finally {
    await connection.end()
  }
}

async function waitUntilReady(base, server) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`)
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error('the server was not ready within 60 s')
}

function run(name, command, args, env = {}) {
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`)
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  return once(child, 'exit').then(([code]) => ({ name, ok: code === 0 }))
}

const port = await freePort()
const base = `http://127.0.0.1:${port}`
const server = spawn(process.execPath, ['dist/server.js'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
})
const results = []
try {
  await waitUntilReady(base, server)
  console.log(`live server ready at ${base}`)
  results.push(await run('Postman collection (newman)', process.execPath, ['scripts/run-newman.mjs', base]))
  results.push(await run('README curl walk-through', 'bash', ['scripts/curl-walkthrough.sh', base]))
  results.push(
    await run('generated TypeScript client', 'npx', ['tap', 'test/clients/typed-client.test.ts'], { API_BASE_URL: base }),
  )
} finally {
  const started = Date.now()
  server.kill('SIGTERM')
  const [code] = server.exitCode === null ? await once(server, 'exit') : [server.exitCode]
  results.push({ name: `SIGTERM: clean exit (code ${code} after ${Date.now() - started} ms)`, ok: code === 0 })
  await sql(`DROP DATABASE IF EXISTS \`${database}\``)
}

console.log('\n=== live-server checks')
for (const { name, ok } of results) console.log(`${ok ? '✓' : '✗'} ${name}`)
process.exitCode = results.every((result) => result.ok) ? 0 : 1
