// npm run demo: the API and the example SPA (examples/spa) side by side, on two origins of one host, so the
// browser does real CORS with credentials. Builds both, starts both, prints both URLs; Ctrl-C stops both.
// The API's mail goes to a local mail catcher (maildev) with a web inbox, so the links in it can be clicked.
// usage: node scripts/demo.mjs   (PORT: the API's port, 3000; SPA_PORT: the SPA's, 5173; MAIL_WEB_PORT: the
// inbox's, 1080; with SMTP_URL set, mail goes there instead and no catcher starts)
//
// Cookies on http://127.0.0.1, as observed in Chromium 156 (test/e2e/spa.e2e.ts checks the first three points):
// - The refresh cookie keeps its production flags: HttpOnly; Secure; SameSite=Strict; Path=/auth. Chromium
//   treats http://127.0.0.1 and http://localhost as secure contexts, so it stores and sends a Secure cookie
//   over plain http there. Other browsers may not; if yours drops the cookie, run COOKIE_SECURE=false npm run demo.
// - SameSite is about *sites* (scheme + registrable domain), not origins: 127.0.0.1:5173 and 127.0.0.1:3000
//   are the same site, so even a Strict cookie goes with the SPA's fetches. Cookies ignore ports altogether.
// - For the same reason SameSite does not protect the cookie from *other ports* of this host. What does is
//   CORS: refresh and logout must carry X-Requested-With, which makes the browser ask first (a preflight),
//   and the API answers it only for CORS_ORIGINS. A page on any other port never gets to send the cookie.
// - Both must be on 127.0.0.1: with the SPA on localhost (another site), Chromium drops the Strict cookie that a
//   cross-site response sets. Login seems to work, and the next reload is logged out.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { MailDev } from 'maildev'
import { buildSpa } from '../examples/spa/build.mjs'
import { startSpaServer } from '../examples/spa/serve.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const host = '127.0.0.1'

// The server reads .env itself; read it here too, so the defaults below only fill what it leaves unset.
if (existsSync(`${root}.env`)) process.loadEnvFile(`${root}.env`)

function run(command, args) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit' })
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`)
  })
}

async function freePort() {
  const server = net.createServer().listen(0, host)
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

async function waitUntilReady(url, api) {
  for (let waited = 0; waited < 60_000; waited += 250) {
    if (api.exitCode !== null) throw new Error(`the API exited with ${api.exitCode}`)
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`the API at ${url} was not ready within 60 s`)
}

/** A mail catcher for the demo: SMTP on a free port, its web inbox on MAIL_WEB_PORT (1080). */
async function startMailCatcher() {
  const smtpPort = await freePort()
  const webPort = Number(process.env.MAIL_WEB_PORT ?? 1080)
  const catcher = new MailDev({ smtp: smtpPort, ip: host, web: webPort, webIp: host, silent: true })
  await catcher.start()
  return { catcher, smtpUrl: `smtp://${host}:${smtpPort}`, inboxUrl: `http://${host}:${webPort}/index.html` }
}

function startApi(port, spaOrigin, smtpUrl) {
  const env = {
    ...process.env,
    SMTP_URL: smtpUrl,
    // The links in the mails open the SPA's pages.
    APP_URL: process.env.APP_URL ?? spaOrigin,
    HOST: host,
    PORT: String(port),
    CORS_ORIGINS: [process.env.CORS_ORIGINS, spaOrigin].filter(Boolean).join(','),
    // Short enough to watch the SPA refresh silently (at 45 s), unless you chose otherwise.
    ACCESS_TOKEN_TTL_SECONDS: process.env.ACCESS_TOKEN_TTL_SECONDS ?? '60',
  }
  // Its own process group: Ctrl-C reaches only this script, which then sends exactly one SIGTERM. (A second
  // signal makes the server's close-with-grace give up on in-flight requests and exit 1.)
  return spawn(process.execPath, ['dist/server.js'], { cwd: root, stdio: 'inherit', env, detached: true })
}

await run('npm', ['run', 'build'])
await buildSpa()
const apiPort = Number(process.env.PORT ?? 3000) || (await freePort())
const apiUrl = `http://${host}:${apiPort}`
const spa = await startSpaServer({ apiBaseUrl: apiUrl, host, port: Number(process.env.SPA_PORT ?? 5173) })
const mail = process.env.SMTP_URL ? null : await startMailCatcher()
const api = startApi(apiPort, spa.url, process.env.SMTP_URL ?? mail.smtpUrl)

let stopping = false
async function stop(exitCode) {
  if (stopping) return
  stopping = true
  if (api.exitCode === null) {
    api.kill('SIGTERM')
    await once(api, 'exit')
  }
  await spa.close()
  await mail?.catcher.stop()
  process.exit(exitCode)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
api.on('exit', (code) => {
  if (!stopping) {
    console.error(`The API stopped (exit code ${code}); stopping the SPA server.`)
    void stop(code || 1)
  }
})

try {
  await waitUntilReady(apiUrl, api)
  console.log(`
  Example SPA   ${spa.url}    <- open this in Chromium
  API           ${apiUrl}    (Swagger UI at ${apiUrl}/docs; CORS allows ${spa.url})
  Mail inbox    ${mail ? `${mail.inboxUrl}    <- verification and reset links arrive here` : `(mail goes to ${process.env.SMTP_URL})`}

  Ctrl-C stops both.
`)
} catch (error) {
  console.error(error.message)
  await stop(1)
}
