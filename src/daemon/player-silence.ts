/**
 * What to tell the user about a player that does not answer reads: once when reads start failing,
 * again every SILENCE_REMIND_MS while they still do (a line per failed read would flood the
 * terminal at four reads a second; one line only would leave a long outage looking like a hang),
 * and once when a read succeeds again. Pure: every method takes the time.
 */
import { WatchmeshError } from '../errors.js'

/** While a player still does not answer, say so again this often. */
export const SILENCE_REMIND_MS = 30_000

export interface SilenceLine {
  level: 'warn' | 'event' | 'debug'
  msg: string
}

export class PlayerSilence {
  private readonly who: string
  /** Since when reads have failed; null while they succeed. */
  private sinceMs: number | null = null
  private toldAtMs = -Infinity

  /** `who`: the player as the user knows it (`mpv`, `VLC media player`). */
  constructor (who: string) {
    this.who = who
  }

  get silent (): boolean {
    return this.sinceMs !== null
  }

  /** A read failed at `nowMs` with `err`; `retry` says what happens next ("trying again every 1 s"). */
  failed (nowMs: number, err: unknown, retry: string): SilenceLine {
    const why = err instanceof WatchmeshError ? err.message : String(err)
    if (this.sinceMs === null) {
      this.sinceMs = nowMs
      this.toldAtMs = nowMs
      return { level: 'warn', msg: `player ${this.who} is not answering (${why}); ${retry}` }
    }
    if (nowMs - this.toldAtMs >= SILENCE_REMIND_MS) {
      this.toldAtMs = nowMs
      return { level: 'warn', msg: `player ${this.who} has not answered for ${Math.round((nowMs - this.sinceMs) / 1000)} s (${why}); ${retry}` }
    }
    return { level: 'debug', msg: `reading player ${this.who} failed again: ${why}` }
  }

  /** A read succeeded at `nowMs`: a line if reads had been failing, else null. */
  answered (nowMs: number): SilenceLine | null {
    const sinceMs = this.sinceMs
    if (sinceMs === null) return null
    this.sinceMs = null
    this.toldAtMs = -Infinity
    return { level: 'event', msg: `player ${this.who} answers again (after ${((nowMs - sinceMs) / 1000).toFixed(1)} s)` }
  }
}
