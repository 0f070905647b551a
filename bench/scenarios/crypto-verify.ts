import { fork } from 'node:child_process'
import path from 'node:path'
import { PROJECT_ROOT } from '../harness/paths.js'
import type { VerifyRateReply, VerifyRateRequest } from './crypto-verify-rate.js'

const CHILD = path.join(PROJECT_ROOT, 'bench', 'scenarios', 'crypto-verify-rate.ts')

/** Bare crypto.verify calls per second in a separate single-threaded process, while no load runs. */
export async function measureVerifyRate(request: VerifyRateRequest): Promise<number> {
  const child = fork(CHILD, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  try {
    const reply = await new Promise<VerifyRateReply>((resolve, reject) => {
      child.once('message', (message) => resolve(message as VerifyRateReply))
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`the crypto.verify process exited with ${code}`)))
      child.send(request)
    })
    return reply.verifiesPerSecond
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill()
  }
}
