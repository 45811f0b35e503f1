/**
 * Which broadcasts were seen, so that flooding terminates (each node relays a broadcast once) and
 * a copy is told from a replay or an altered copy. A broadcast is named by its author's session and
 * its sequence number, which the author counts up from 0 in each session. Kept per author session:
 * the highest number seen and the content digests of the last BROADCAST_WINDOW numbers up to it.
 * A broadcast further behind than that counts as seen (an old copy, or a replay): it is dropped.
 *
 * Memory grows with the author sessions heard, not with the traffic: a set of every id seen, even
 * capped, grew by ~1 MB an hour for hours in a quiet three-viewer room, until its cap.
 */

/**
 * Numbers this far behind a session's newest are still told apart: copies arrive out of order over
 * relays of different lengths, but within seconds. An author sends ~1 a second (announces, a few
 * events), so 128 covers about two minutes of reordering; at its budget's ceiling (20 a second,
 * limits.ts), still over 6 s.
 */
export const BROADCAST_WINDOW = 128

/** A broadcast so far behind its session's newest that it is taken as seen, whatever it says. */
export const TOO_OLD = Symbol('too old')

interface SessionSeen {
  top: number
  /** seq -> content digest, for the seqs within the window below `top` that were seen. */
  digests: Map<number, string>
}

export class SeenBroadcasts {
  /** session key -> what was seen of it, in order of last use (the least recent is forgotten first). */
  private readonly sessions = new Map<string, SessionSeen>()

  constructor (private readonly maxSessions: number, private readonly window = BROADCAST_WINDOW) {}

  /**
   * The digest `seq` of this author session was seen with; undefined if it was not seen; TOO_OLD
   * if it is out of the window (seen or not, it is not to be delivered or relayed).
   */
  tag (sessionKey: string, seq: number): string | undefined | typeof TOO_OLD {
    const s = this.sessions.get(sessionKey)
    if (s === undefined) return undefined
    if (seq <= s.top - this.window) return TOO_OLD
    return s.digests.get(seq)
  }

  /** Records `seq` of this author session as seen with `digest`. */
  add (sessionKey: string, seq: number, digest: string): void {
    let s = this.sessions.get(sessionKey)
    if (s === undefined) {
      s = { top: seq, digests: new Map() }
      if (this.sessions.size >= this.maxSessions) {
        const oldest = this.sessions.keys().next()
        if (oldest.done !== true) this.sessions.delete(oldest.value)
      }
    } else {
      // Most recently used last.
      this.sessions.delete(sessionKey)
    }
    this.sessions.set(sessionKey, s)
    if (seq <= s.top - this.window) return
    s.digests.set(seq, digest)
    if (seq > s.top) {
      s.top = seq
      for (const old of s.digests.keys()) {
        if (old <= s.top - this.window) s.digests.delete(old)
      }
    }
  }

  /** Author sessions remembered. */
  get sessionCount (): number {
    return this.sessions.size
  }

  /** Digests held, over all sessions (at most maxSessions x window). */
  get size (): number {
    let n = 0
    for (const s of this.sessions.values()) n += s.digests.size
    return n
  }
}
