/** Small helpers shared by the player tests. */
import type { Player, UserEvent } from '../../src/player/player.js'
import { waitFor } from '../fixtures/wait.js'

export interface EventLog {
  events: UserEvent[]
  kinds (): string[]
  /** Waits (deadline, not a measurement) until `n` events have arrived in total. */
  waitForCount (n: number, timeoutMs?: number): Promise<UserEvent[]>
}

export function recordUserEvents (player: Player): EventLog {
  const events: UserEvent[] = []
  player.on('user', ev => events.push(ev))
  return {
    events,
    kinds: () => events.map(e => e.kind),
    async waitForCount (n, timeoutMs = 5_000) {
      await waitFor(`${n} user events (have ${events.length}: ${events.map(e => e.kind).join(',')})`, () => events.length >= n, { timeoutMs })
      return events
    }
  }
}

export function near (actual: number, expected: number, toleranceMs: number): boolean {
  return Math.abs(actual - expected) <= toleranceMs
}
