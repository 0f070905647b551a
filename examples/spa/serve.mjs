// A tiny static server for the built SPA (node:http, no dependency). It serves dist/ and a generated
// /config.json naming the API, so one build runs against any API address. It sends a strict CSP: scripts
// only from this origin, network calls only to this origin and the API. That is what keeps an in-memory
// access token worth having: the main way to steal it is a script injected into the page.
// usage: node examples/spa/serve.mjs --api http://127.0.0.1:3000 [--port 5173] [--host 127.0.0.1]
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { SPA_DIST } from './build.mjs'

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
}

function securityHeaders(apiOrigin) {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${apiOrigin}`,
    "base-uri 'none'",
    // Forms are sent by script; should the script fail, nothing is submitted (no password in a URL).
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  }
}

// The pages the API's mails link to: the app itself, which routes by location.pathname.
const APP_PAGES = new Set(['/', '/verify-email', '/reset-password', '/confirm-email'])

/** Maps a URL path to a file under root, or undefined when it would leave root. */
function fileFor(root, pathname) {
  let relative
  try {
    relative = APP_PAGES.has(pathname) ? 'index.html' : decodeURIComponent(pathname).slice(1)
  } catch {
    return undefined // malformed %-escape
  }
  const path = normalize(join(root, relative))
  return path.startsWith(root.endsWith(sep) ? root : root + sep) ? path : undefined
}

async function bodyFor(root, pathname, apiBaseUrl) {
  if (pathname === '/config.json') return { type: CONTENT_TYPES['.json'], body: JSON.stringify({ apiBaseUrl }) }
  const path = fileFor(root, pathname)
  const type = path && CONTENT_TYPES[extname(path)]
  if (!type) return undefined
  try {
    return { type, body: await readFile(path) }
  } catch {
    return undefined
  }
}

/** Starts the server; port 0 picks a free one. Resolves to { url, close() }. */
export async function startSpaServer({ apiBaseUrl, port = 0, host = '127.0.0.1', root = SPA_DIST }) {
  const headers = securityHeaders(new URL(apiBaseUrl).origin)
  const server = createServer(async (request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost')
    const found = request.method === 'GET' || request.method === 'HEAD' ? await bodyFor(root, pathname, apiBaseUrl) : undefined
    if (!found) {
      response.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n')
      return
    }
    response.writeHead(200, { ...headers, 'content-type': found.type })
    response.end(request.method === 'HEAD' ? undefined : found.body)
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const address = server.address()
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined)).closeAllConnections()),
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      api: { type: 'string', default: 'http://127.0.0.1:3000' },
      port: { type: 'string', default: '5173' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  })
  const { url } = await startSpaServer({ apiBaseUrl: values.api, port: Number(values.port), host: values.host })
  console.log(`SPA at ${url} (API ${values.api}); run node examples/spa/build.mjs first`)
}
