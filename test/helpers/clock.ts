import type { Clock } from '../../src/clock.js'

/** A clock the test moves by hand: expiry and grace windows without sleeping. */
export class ManualClock implements Clock {
  #now: number

  constructor(start = Date.now()) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(ms: number): void {
    this.#now += ms
  }
}
