import { spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { openSession } from '../../src/deploy/migrate.js'
import { PROJECT_ROOT } from '../../src/deploy/migration-files.js'
import { build, TEST_ENV } from '../helpers/build.js'
import { login, PASSWORD, problemOf, uniqueEmail } from '../helpers/http.js'
import { adminGet } from './helpers.js'

const { app, database } = await build(t)
const db = await openSession(database.url)
t.teardown(() => db.end())
const CLI = path.join(PROJECT_ROOT, 'src', 'deploy', 'user-cli.ts')

/** Runs `npm run user:<command>` from source as an operator would, with `input` on standard input. */
function userCli(args: string[], input = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...TEST_ENV, DATABASE_URL: database.url },
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
    child.stdin.end(input)
  })
}

t.test('user:create makes the first admin from standard input; user:role changes roles, keeping one admin', async (t) => {
  const email = uniqueEmail('first-admin')
  const created = await userCli(['create', '--email', email, '--role', 'admin', '--password-stdin'], `${PASSWORD}\n`)
  t.equal(created.code, 0, created.output)
  t.match(created.output, new RegExp(`Created ${email.replace(/[.]/g, '\\.')} \\(id [0-9a-f-]{36}\\): role admin`))
  const tokens = await login(app, email, PASSWORD)
  t.equal((await adminGet(app, tokens.accessToken, '/admin/users')).statusCode, 200, 'the trailing newline was not part of the password')
  const [event] = await db.query<{ details: string | object }[]>("SELECT details FROM auth_events WHERE type = 'admin_user_created' ORDER BY id DESC LIMIT 1")
  t.match(typeof event!.details === 'string' ? JSON.parse(event!.details) : event!.details, { actor: 'cli', role: 'admin' })

  const again = await userCli(['create', '--email', email, '--password-stdin'], PASSWORD)
  t.equal(again.code, 1)
  t.match(again.output, 'An account with this email already exists')
  const weak = await userCli(['create', '--email', uniqueEmail(), '--password-stdin'], 'password')
  t.equal(weak.code, 1)
  t.match(weak.output, 'The password is too easy to guess')

  const last = await userCli(['role', '--email', email, '--role', 'user'])
  t.equal(last.code, 1, 'demoting the only admin is refused')
  t.match(last.output, 'last enabled admin')

  const second = uniqueEmail('second-admin')
  t.equal((await userCli(['create', '--email', second, '--password-stdin'], PASSWORD)).code, 0)
  const promoted = await userCli(['role', '--email', second.toUpperCase(), '--role', 'admin'])
  t.equal(promoted.code, 0, promoted.output)
  t.match(promoted.output, 'role admin')
  const demoted = await userCli(['role', '--email', email, '--role', 'user'])
  t.equal(demoted.code, 0, demoted.output)
  const refused = await adminGet(app, tokens.accessToken, '/admin/users')
  t.equal(refused.statusCode, 403, 'demoted from the shell: the still-valid admin token is refused at once')
  t.equal(problemOf(refused).code, 'forbidden')

  const unknown = await userCli(['role', '--email', uniqueEmail(), '--role', 'admin'])
  t.equal(unknown.code, 1)
  t.match(unknown.output, 'There is no user with the email')
})

t.test('user:* says how to use it when called wrongly, exit code 2', async (t) => {
  for (const args of [['create'], ['role', '--email', 'a@example.com'], ['role', '--email', 'a@example.com', '--role', 'root'], ['frobnicate']]) {
    const result = await userCli(args)
    t.equal(result.code, 2, args.join(' '))
    t.match(result.output, 'usage: npm run user:create')
  }
  const noTerminal = await userCli(['create', '--email', 'a@example.com'])
  t.equal(noTerminal.code, 2, 'no terminal and no --password-stdin')
  t.match(noTerminal.output, 'pass --password-stdin')
})
