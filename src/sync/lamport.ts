/**
 * Lamport stamps: the total order of control events is (lamport, nodeId), so two people who act at
 * once converge on the same winner everywhere, ties broken by node id.
 */
import type { NodeId, Stamp } from './types.js'

/** Counters stay exact integers; past this a float can no longer count by one. */
export const MAX_LAMPORT = Number.MAX_SAFE_INTEGER

/** Negative when `a` comes before `b`, positive when after, 0 for the very same stamp. */
export function compareStamps (a: Stamp, b: Stamp): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1
  if (a.nodeId === b.nodeId) return 0
  return a.nodeId < b.nodeId ? -1 : 1
}

/** True when `a` wins over `b` (a null `b` loses to anything). */
export function isNewer (a: Stamp, b: Stamp | null): boolean {
  return b === null || compareStamps(a, b) > 0
}

/** A string that identifies a stamp, for maps and dedup. */
export function stampKey (s: Stamp): string {
  return `${s.lamport}:${s.nodeId}`
}

export class LamportClock {
  private counter: number

  constructor (start = 0) {
    this.counter = start
  }

  /** The highest counter seen or issued so far. */
  get value (): number {
    return this.counter
  }

  /** Takes note of a counter seen on someone else's event. */
  observe (lamport: number): void {
    if (Number.isSafeInteger(lamport) && lamport > this.counter) this.counter = Math.min(lamport, MAX_LAMPORT)
  }

  /** The stamp of a new local event: one past everything seen. */
  next (nodeId: NodeId): Stamp {
    if (this.counter < MAX_LAMPORT) this.counter++
    return { lamport: this.counter, nodeId }
  }
}
