import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/deploy/migration-files.js'

/**
 * SECURITY.md maps requirements to code and tests. Its evidence must exist: every file path it cites is a
 * file of the tree, every backticked code identifier occurs in the code, tests or schema, and every
 * package it names is a dependency. A rename or a removal that leaves the mapping pointing at nothing
 * fails here instead of rotting unseen.
 */
const document = readFileSync(path.join(PROJECT_ROOT, 'SECURITY.md'), 'utf8')
const cited = [...document.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!)

const SEARCHED = ['src', 'test', 'prisma', 'scripts', 'examples', 'bench', '.env.example', 'package.json']
const SKIPPED = new Set(['node_modules', 'generated', 'dist', 'results'])

function filesUnder(entry: string): string[] {
  const full = path.join(PROJECT_ROOT, entry)
  if (!existsSync(full)) return []
  if (statSync(full).isFile()) return [full]
  return readdirSync(full, { withFileTypes: true }).flatMap((child) =>
    SKIPPED.has(child.name) ? [] : filesUnder(path.join(entry, child.name)),
  )
}

const self = path.join(PROJECT_ROOT, 'test', 'docs', 'security-claims.test.ts')
const corpus = SEARCHED.flatMap(filesUnder)
  .filter((file) => file !== self && /\.(ts|mjs|js|json|prisma|sql|sh|html|example|yml|toml)$/.test(file))
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n')

const isPath = (text: string) => /^(src|test|prisma|scripts|examples|bench|clients)\/[\w./-]+$/.test(text) || /^[\w-]+\.(md|yaml|json)$/.test(text)
const isIdentifier = (text: string) => /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*(\(\))?$/.test(text)
const isPackage = (text: string) => /^@[\w-]+\/[\w.-]+$/.test(text)

// Names of JOSE and JWT members (RFC 7515, 7519, OpenID Connect), cited as what they are, not as our code.
const JOSE_NAMES = new Set(['jku', 'x5u', 'jwk', 'acr', 'amr', 'auth_time'])

const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>
const dependencies = new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }))

t.test('every file path SECURITY.md cites exists', async (t) => {
  const paths = [...new Set(cited.filter(isPath))]
  t.ok(paths.length > 20, `${paths.length} paths cited`)
  const missing = paths.filter((file) => !existsSync(path.join(PROJECT_ROOT, file)))
  t.same(missing, [], `SECURITY.md cites files that do not exist:\n${missing.join('\n')}`)
})

t.test('every backticked identifier SECURITY.md cites occurs in the tree', async (t) => {
  const identifiers = [...new Set(cited.filter((text) => !isPath(text) && isIdentifier(text) && !JOSE_NAMES.has(text)))]
  t.ok(identifiers.length > 40, `${identifiers.length} identifiers cited`)
  const missing = identifiers.filter((name) => {
    const bare = name.replace(/\(\)$/, '')
    // `a.b` may be written as a property path; each part must occur.
    return !bare.split('.').every((part) => new RegExp(`(?<![\\w$])${part.replace(/\$/g, '\\$')}(?![\\w$])`).test(corpus))
  })
  t.same(missing, [], `SECURITY.md cites identifiers found nowhere in the code, tests or schema:\n${missing.join('\n')}`)
})

t.test('every scoped package SECURITY.md names is a dependency', async (t) => {
  const missing = [...new Set(cited.filter(isPackage))].filter((name) => !dependencies.has(name))
  t.same(missing, [], `SECURITY.md names packages the project does not depend on:\n${missing.join('\n')}`)
})
