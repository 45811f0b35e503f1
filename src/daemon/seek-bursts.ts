/**
 * Scrubbing (a dozen seeks within a second) is one thing a person did, so it is told once: the
 * seeks of one person are held until they pause for SEEK_BURST_QUIET_MS, then told as one line with
 * where the burst ended. Pure: the caller passes the time and runs the timer.
 */

/** A seek this soon after the previous one by the same person belongs to the same burst. */
export const SEEK_BURST_QUIET_MS = 400

export interface SettledSeek {
  who: string
  positionMs: number
  /** Seeks folded into this one line. */
  count: number
}

export class SeekBursts {
  private readonly pending = new Map<string, { positionMs: number, lastMs: number, count: number }>()

  constructor (private readonly quietMs = SEEK_BURST_QUIET_MS) {}

  /** Records a seek by `who`; nothing is told yet. */
  seek (who: string, positionMs: number, nowMs: number): void {
    const burst = this.pending.get(who)
    this.pending.set(who, { positionMs, lastMs: nowMs, count: (burst?.count ?? 0) + 1 })
  }

  /** Ends `who`'s burst at once (they did something else, which must be told after it). */
  flush (who: string): SettledSeek | null {
    const burst = this.pending.get(who)
    if (burst === undefined) return null
    this.pending.delete(who)
    return { who, positionMs: burst.positionMs, count: burst.count }
  }

  /** The bursts that have been quiet long enough, oldest first; they are forgotten. */
  settled (nowMs: number): SettledSeek[] {
    const out: SettledSeek[] = []
    for (const [who, burst] of this.pending) {
      if (nowMs - burst.lastMs < this.quietMs) continue
      this.pending.delete(who)
      out.push({ who, positionMs: burst.positionMs, count: burst.count })
    }
    return out
  }

  /** When the next burst settles (local time), or null when none is pending. */
  nextDueMs (): number | null {
    let due: number | null = null
    for (const burst of this.pending.values()) due = Math.min(due ?? Infinity, burst.lastMs + this.quietMs)
    return due
  }
}
