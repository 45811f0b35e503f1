/**
 * Connections that have not proved the passphrase yet, bounded in total and per source address.
 * A stranger who knows a member's key can open Noise connections as fast as it likes and never
 * prove anything; what it must not do is keep a friend out. So a new connection is never turned
 * away for lack of room: the oldest unproven one (from the same address when that address is at
 * its own bound, else from anywhere) makes room for it. An honest peer proves itself within one
 * round trip of connecting, long before a flood could push it out. Connections that have sent
 * their PAKE share (`progressed`) are evicted only after those that have sent nothing: a flood of
 * bare connections then cannot push out a friend halfway through the PAKE, and a flood that sends
 * shares pays a valid-looking handshake for each. Pure: the caller passes the time.
 */

/** Unproven connections at most: a few friends joining at once, with room for a flood to churn. */
export const MAX_UNPROVEN_CONNECTIONS = 16
/**
 * From one source address at most: one host cannot take more than half the slots, so a flood from
 * one address evicts only its own connections. 4 was enough while the proof came in the first
 * frame; the PAKE holds a connection unproven for a second flight, and 8 viewers starting at once
 * behind one address (one machine, one NAT) then had honest connections evicted (7 evictions in an
 * 8-node loopback mesh, formed in 4.7 s instead of ~2 s).
 */
export const MAX_UNPROVEN_PER_ADDRESS = 8

interface Entry { address: string, sinceMs: number, progressed: boolean }

export class UnprovenConnections<T> {
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly entries = new Map<T, Entry>()

  constructor (
    private readonly maxTotal = MAX_UNPROVEN_CONNECTIONS,
    private readonly maxPerAddress = MAX_UNPROVEN_PER_ADDRESS
  ) {}

  /** Adds a new connection; returns the older ones to drop to make room for it (oldest first). */
  add (item: T, address: string, nowMs: number): T[] {
    const evicted: T[] = []
    const evict = (candidates: T[]): void => {
      const victim = candidates.find(it => this.entries.get(it)?.progressed === false) ?? candidates[0] as T
      this.entries.delete(victim)
      evicted.push(victim)
    }
    const sameAddress = (): T[] => [...this.entries].filter(([, e]) => e.address === address).map(([it]) => it)
    while (sameAddress().length >= this.maxPerAddress) evict(sameAddress())
    while (this.entries.size >= this.maxTotal) evict([...this.entries.keys()])
    this.entries.set(item, { address, sinceMs: nowMs, progressed: false })
    return evicted
  }

  /** The connection sent a well-formed PAKE share: it goes to the back of the eviction order. */
  progressed (item: T): void {
    const entry = this.entries.get(item)
    if (entry !== undefined) entry.progressed = true
  }

  /** The connection proved itself or closed: it no longer counts. */
  delete (item: T): void {
    this.entries.delete(item)
  }

  has (item: T): boolean {
    return this.entries.has(item)
  }

  get size (): number {
    return this.entries.size
  }
}
