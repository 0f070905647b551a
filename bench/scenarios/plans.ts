import type { LoadRequest } from '../harness/load.js'

/** Every connection gets all items, each starting at a different offset, so they do not move in step. */
export function rotated<T>(items: T[], lists: number): T[][] {
  const step = Math.max(1, Math.floor(items.length / lists))
  return Array.from({ length: lists }, (_, list) => {
    const start = (list * step) % items.length
    return [...items.slice(start), ...items.slice(0, start)]
  })
}

/** Disjoint slices, one per connection: no item is ever sent by two connections. */
export function split<T>(items: T[], lists: number): T[][] {
  const size = Math.floor(items.length / lists)
  if (size === 0) throw new Error(`cannot split ${items.length} items over ${lists} connections`)
  return Array.from({ length: lists }, (_, list) => items.slice(list * size, (list + 1) * size))
}

export const get = (path: string, headers?: Record<string, string>): LoadRequest => ({ method: 'GET', path, headers })

export const bearer = (path: string, token: string): LoadRequest => get(path, { authorization: `Bearer ${token}` })

export const postJson = (path: string, body: unknown): LoadRequest => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

/**
 * Lists that continue across runs: autocannon starts every run at the top of each list, so each run gets
 * its lists rotated past what the runs before them sent.
 */
export interface ContinuousStreams<T> {
  next(): T[][]
  advance(sent: number[]): void
}

export function continuousStreams<T>(lists: T[][]): ContinuousStreams<T> {
  const offsets = lists.map(() => 0)
  return {
    next: (): T[][] => lists.map((list, index) => {
      const start = (offsets[index] ?? 0) % list.length
      return [...list.slice(start), ...list.slice(0, start)]
    }),
    advance(sent: number[]) {
      sent.forEach((count, index) => {
        offsets[index] = (offsets[index] ?? 0) + count
      })
    },
  }
}
