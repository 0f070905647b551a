// Bundles the SPA with esbuild into examples/spa/dist: app.js (+ source map), index.html, styles.css.
// usage: node examples/spa/build.mjs
import { cp, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const here = fileURLToPath(new URL('.', import.meta.url))
export const SPA_DIST = fileURLToPath(new URL('dist/', import.meta.url))

/**
 * Builds from scratch into outdir (a test passes its own, so it never deletes files another run is serving).
 * Type errors are tsc's job (`tsc -p examples/spa`); esbuild only strips types.
 */
export async function buildSpa({ outdir = SPA_DIST, quiet = false } = {}) {
  await rm(outdir, { recursive: true, force: true })
  await mkdir(outdir, { recursive: true })
  await build({
    entryPoints: [`${here}src/main.ts`],
    outfile: join(outdir, 'app.js'),
    tsconfig: `${here}tsconfig.json`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: quiet ? 'warning' : 'info',
  })
  await cp(`${here}public`, outdir, { recursive: true })
  return outdir
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildSpa()
