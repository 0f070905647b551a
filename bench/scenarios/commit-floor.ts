import { fork } from 'node:child_process'
import path from 'node:path'
import { PROJECT_ROOT } from '../harness/paths.js'
import type { CommitFloorReply, CommitFloorRequest } from './commit-floor-rate.js'

const CHILD = path.join(PROJECT_ROOT, 'bench', 'scenarios', 'commit-floor-rate.ts')

/** Bare single-row INSERT commits per second, in a separate process, while no load runs. */
export async function measureCommitFloor(request: CommitFloorRequest): Promise<number> {
  const child = fork(CHILD, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  try {
    const reply = await new Promise<CommitFloorReply>((resolve, reject) => {
      child.once('message', (message) => resolve(message as CommitFloorReply))
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`the commit-floor process exited with ${code}`)))
      child.send(request)
    })
    return reply.commitsPerSecond
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill()
  }
}
