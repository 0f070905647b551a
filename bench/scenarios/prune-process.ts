import { spawn } from 'node:child_process'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { PROJECT_ROOT } from '../harness/paths.js'
import type { BackgroundOutcome, BackgroundProcess } from './types.js'

const CLI = path.join(PROJECT_ROOT, 'dist', 'deploy', 'cli.js')
// The CLI's last line: "Pruned 1000000 expired denylist row(s)."
const PRUNED = /^Pruned (\d+) expired denylist row/m

const thousands = (count: number) => Math.round(count).toLocaleString('en')

/**
 * `npm run db:prune` as an operator runs it, `node dist/deploy/cli.js prune` (batches of 1,000, progress every
 * 10,000 rows), in a process of its own against the bench database. Its time runs from the spawn to its
 * exit, Node.js start-up included: that is how long the server shares the database with it.
 */
export function startPrune(databaseUrl: string, expiredRows: number): BackgroundProcess {
  const started = performance.now()
  const child = spawn(process.execPath, [CLI, 'prune'], {
    // The CLI reads ./.env; bench/ has none, so a developer's .env cannot change what is pruned.
    cwd: path.join(PROJECT_ROOT, 'bench'),
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // An interrupted bench (bench/run.ts exits on SIGINT) must not leave the prune running.
  const killOnExit = () => child.kill()
  process.once('exit', killOnExit)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))

  const exited = new Promise<BackgroundOutcome>((resolve, reject) => {
    child.once('error', reject)
    // 'close', not 'exit': the last line of output has been read by then.
    child.once('close', (code, signal) => {
      const seconds = (performance.now() - started) / 1000
      process.off('exit', killOnExit)
      const pruned = PRUNED.exec(stdout)
      if (code !== 0 || !pruned) {
        const said = stderr.trim() || stdout.trim().split('\n').at(-1) || 'no output'
        reject(new Error(`the prune (node dist/deploy/cli.js prune) exited with ${signal ?? code}: ${said}`))
        return
      }
      const rowsDeleted = Number(pruned[1])
      const rate = `${thousands(rowsDeleted / seconds)} rows/s`
      resolve({
        seconds,
        counts: { expiredRows, rowsDeleted },
        summary: `deleted ${thousands(rowsDeleted)} of ${thousands(expiredRows)} expired rows (${rate})`,
      })
    })
  })

  return {
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill()
    },
  }
}
