interface Entry<T> {
  value: T
  /** Epoch ms after which the entry must not be served. */
  expiresAt: number
}

/**
 * A bounded LRU of tokens that already passed a full verification, keyed by the exact token string.
 *
 * Why not fast-jwt's own cache: it hashes every token (SHA-512 for EdDSA) before looking it up, which
 * costs more than everything else on a warm /me request. A Map lookup on the token string costs a
 * string hash. Entries never outlive the token: `expiresAt` is the token's exp plus the same clock
 * tolerance a fresh verification allows, and it is checked on every hit.
 */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>()

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.#entries.size
  }

  get(token: string, now: number): T | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    this.#entries.delete(token)
    if (now > entry.expiresAt) return undefined
    // Re-inserting moves the entry to the young end of the Map's insertion order.
    this.#entries.set(token, entry)
    return entry.value
  }

  set(token: string, value: T, expiresAt: number): void {
    if (this.maxEntries === 0) return
    this.#entries.delete(token)
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
    this.#entries.set(token, { value, expiresAt })
  }
}
