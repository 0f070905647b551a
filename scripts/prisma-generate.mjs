// Runs `prisma generate` on machines that cannot download Prisma's schema engine: generate does not use
// the engine, but the CLI insists on resolving one first, so we hand it a stub unless a real one is set.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const env = { ...process.env }
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(new URL('./schema-engine-unavailable.sh', import.meta.url))
env.PRISMA_HIDE_UPDATE_MESSAGE = '1'

const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env })
process.exit(result.status ?? 1)
