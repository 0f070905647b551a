// Child process: how many bare signature checks (crypto.verify: Ed25519, P-256 or RSA-2048, whichever
// the server signs with) one core does per second, on the very tokens the cold /me scenario sends. That is the ceiling for /me with a cold cache: every
// request must do one of these, plus everything else. Run by bench/scenarios/crypto-verify.ts.
import { createPublicKey, verify } from 'node:crypto'
import { performance } from 'node:perf_hooks'

export interface VerifyRateRequest {
  algorithm: 'EdDSA' | 'ES256' | 'RS256'
  publicKeyPem: string
  tokens: string[]
  seconds: number
}

export interface VerifyRateReply {
  verifiesPerSecond: number
}

const BATCH = 500

function measure({ algorithm, publicKeyPem, tokens, seconds }: VerifyRateRequest): number {
  // JWS ES256 signatures are r||s (IEEE P1363), not DER; Ed25519 takes no digest name.
  const key = { key: createPublicKey(publicKeyPem), dsaEncoding: 'ieee-p1363' as const }
  const digest = algorithm === 'EdDSA' ? null : 'sha256'
  const signed = tokens.map((token) => {
    const end = token.lastIndexOf('.')
    return { data: Buffer.from(token.slice(0, end)), signature: Buffer.from(token.slice(end + 1), 'base64url') }
  })
  const started = performance.now()
  const deadline = started + seconds * 1000
  let count = 0
  let index = 0
  while (performance.now() < deadline) {
    for (let i = 0; i < BATCH; i++) {
      const item = signed[index]
      index = index + 1 === signed.length ? 0 : index + 1
      // A false here means the tokens and the key do not belong together: the rate would mean nothing.
      if (!item || !verify(digest, item.data, key, item.signature)) throw new Error('a bench token failed verification')
    }
    count += BATCH
  }
  return count / ((performance.now() - started) / 1000)
}

process.once('message', (message) => {
  const reply: VerifyRateReply = { verifiesPerSecond: measure(message as VerifyRateRequest) }
  process.send?.(reply, () => process.disconnect())
})
