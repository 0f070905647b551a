// CI's live-server stage: starts the built server (npm run build first) on a free port against a fresh
// database, runs clients we did not write against it (newman, curl, the generated TypeScript client), then
// stops it with SIGTERM and expects a clean exit. usage: node scripts/live-checks.mjs
// Its mail goes to a catcher here that writes each recipient's latest reset-link token to LINK_DIR/<address>,
// so the clients can walk forgot → reset as a person would, with the link from the mail.
// The admin the clients' admin steps log in as is made with the user CLI, as an operator would
// (npm run user:create -- --role admin): the adminEmail/adminPassword pair of the Postman environment.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { simpleParser } from 'mailparser'
import { createConnection } from 'mariadb'
import { SMTPServer } from 'smtp-server'

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

/** The admin the Postman environment names (adminEmail, adminPassword): newman logs in with it as it stands. */
function postmanAdmin() {
  const environment = JSON.parse(readFileSync(path.join(root, 'clients/postman/local.postman_environment.json'), 'utf8'))
  const value = (key) => environment.values.find((entry) => entry.key === key && entry.enabled !== false)?.value
  const admin = { email: value('adminEmail'), password: value('adminPassword') }
  if (!admin.email || !admin.password) throw new Error('local.postman_environment.json sets no adminEmail/adminPassword')
  return admin
}

/** `npm run user:create -- --email … --role admin --password-stdin`, with the server's settings. */
async function createAdmin({ email, password }, env) {
  const name = 'admin made with the user CLI'
  const args = ['dist/deploy/user-cli.js', 'create', '--email', email, '--role', 'admin', '--password-stdin']
  console.log(`\n=== ${name}: node ${args.join(' ')}`)
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'inherit', 'inherit'], env })
  child.stdin.end(password)
  const [code] = await once(child, 'exit')
  return { name, ok: code === 0 }
}

async function startMailCatcher(linkDir) {
  const catcher = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const token = /\/reset-password#token=([\w-]+)/.exec(mail.text ?? '')?.[1]
          const to = mail.to?.value?.[0]?.address
          if (token && to) writeFileSync(path.join(linkDir, to), token)
          callback()
        })
        .catch(callback)
    },
  })
  catcher.listen(0, '127.0.0.1')
  await once(catcher.server, 'listening')
  return { catcher, url: `smtp://127.0.0.1:${catcher.server.address().port}` }
}

const linkDir = mkdtempSync(path.join(tmpdir(), 'live-links-'))
const mail = await startMailCatcher(linkDir)
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const serverEnv = {
  ...process.env,
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: String(port),
  DATABASE_URL: databaseUrl,
  LOG_LEVEL: 'warn',
  SMTP_URL: mail.url,
  APP_URL: 'http://127.0.0.1:5173',
}
const admin = postmanAdmin()
const server = spawn(process.execPath, ['dist/server.js'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: serverEnv })
const results = []
try {
  await waitUntilReady(base, server)
  console.log(`live server ready at ${base}`)
  // After the server is ready: it has migrated the fresh database by then.
  results.push(await createAdmin(admin, serverEnv))
  results.push(await run('Postman collection (newman)', process.execPath, ['scripts/run-newman.mjs', base], { LINK_DIR: linkDir }))
  results.push(await run('README curl walk-through', 'bash', ['scripts/curl-walkthrough.sh', base], { LINK_DIR: linkDir }))
  results.push(
    await run('generated TypeScript client', 'npx', ['tap', 'test/clients/typed-client.test.ts'], {
      API_BASE_URL: base,
      API_ADMIN_EMAIL: admin.email,
      API_ADMIN_PASSWORD: admin.password,
    }),
  )
} finally {
  const started = Date.now()
  server.kill('SIGTERM')
  const [code] = server.exitCode === null ? await once(server, 'exit') : [server.exitCode]
  results.push({ name: `SIGTERM: clean exit (code ${code} after ${Date.now() - started} ms)`, ok: code === 0 })
  await sql(`DROP DATABASE IF EXISTS \`${database}\``)
  mail.catcher.close()
  rmSync(linkDir, { recursive: true, force: true })
}

console.log('\n=== live-server checks')
for (const { name, ok } of results) console.log(`${ok ? '✓' : '✗'} ${name}`)
process.exitCode = results.every((result) => result.ok) ? 0 : 1
