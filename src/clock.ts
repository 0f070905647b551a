/** Time as the app sees it. Tests pass a clock they can move instead of sleeping. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
