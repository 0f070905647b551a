import { createHmac, sign, type KeyObject } from 'node:crypto'

/** Decodes a JWT without verifying it: for asserting on what the server put inside. */
export function decodeJwt(token: string) {
  const [header, payload] = token.split('.')
  const decode = (part = '') => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>
  return { header: decode(header), payload: decode(payload) }
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Rebuilds a token with a changed header and/or payload, keeping the original signature. */
export function tamper(token: string, change: { header?: object; payload?: object }): string {
  const { header, payload } = decodeJwt(token)
  const signature = token.split('.')[2]
  return [encode({ ...header, ...change.header }), encode({ ...payload, ...change.payload }), signature].join('.')
}

/** An unsigned token (alg none), the oldest forgery there is. */
export function unsigned(token: string): string {
  const { header, payload } = decodeJwt(token)
  return `${encode({ ...header, alg: 'none' })}.${encode(payload)}.`
}

/** Signs header.payload with an Ed25519 private key (PEM): forgeries with a valid signature and bad claims. */
export function signEdDSA(header: object, payload: object, privateKeyPem: string | Buffer): string {
  const input = `${encode({ alg: 'EdDSA', ...header })}.${encode(payload)}`
  return `${input}.${sign(null, Buffer.from(input), privateKeyPem).toString('base64url')}`
}

/** Signs header.payload with RS256 (a private key) or HS256 (a secret), by the header's `alg`. */
export function signJws(header: { alg: 'RS256' | 'HS256'; [name: string]: unknown }, payload: object, key: string | Buffer | KeyObject): string {
  const input = `${encode(header)}.${encode(payload)}`
  const signature =
    header.alg === 'HS256' ? createHmac('sha256', key).update(input).digest() : sign('sha256', Buffer.from(input), key)
  return `${input}.${signature.toString('base64url')}`
}
