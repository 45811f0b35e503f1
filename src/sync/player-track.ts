/**
 * Where the local player really is, from readings that only ever lag the truth.
 *
 * A reading floors the position to a frame (mpv: 40 ms steps) or repeats a value refreshed only
 * now and then (VLC: ~500 ms), so each reading is at or behind the true position, never ahead.
 * Projected forward to now along the rate the player has been running at (our own nudges
 * included), the largest projection of a window of readings is the closest to the truth: the
 * upper envelope. How far the readings sit below that envelope on average is the player's reading
 * lag, learnt and used to correct a single fresh reading (a user action is published from one).
 *
 * The track knows nothing of the shared timeline: a new state does not invalidate it, only a jump
 * of the player itself (a seek, a pause, a start, a user action) does.
 */

/** Readings older than this are dropped: long enough to span many frame phases and refreshes. */
export const TRACK_WINDOW_MS = 8000
/** A projection is trusted once this many readings span this long. */
export const TRACK_MIN_READINGS = 8
export const TRACK_MIN_SPAN_MS = 2000
/** Memory bound, whatever the poll rate. */
export const MAX_TRACK_READINGS = 256
/**
 * A reading this far above every earlier one, or this far below (ms of our time, so scaled by the
 * rate in media ms), is not lag: the player jumped (a seek, or a rate change we were not told of
 * yet). The track starts again from it.
 */
export const JUMP_AHEAD_MS = 80
export const JUMP_BEHIND_MS = 600
/** Weight of each new reading's window mean lag in the learnt lag (smooths over many windows). */
export const LAG_LEARNING_WEIGHT = 0.05
/** A learnt lag (ms of our time) beyond this is not lag but a broken reading: cap it. */
export const MAX_READING_LAG_MS = 500

interface Reading {
  atMs: number
  /** Position minus the player's own advance up to atMs: equal for all readings of a steady player. */
  baseMs: number
}

export class PlayerTrack {
  private readings: Reading[] = []
  /** The player's advance (media ms) is a piecewise-linear function of our time: value at `advanceAtMs`. */
  private advanceMs = 0
  private advanceAtMs = 0
  private rate = 1
  private lagMs = 0

  /** The player jumped (seek, pause, start, user action): older readings say nothing of it now. */
  reset (nowMs: number, rate: number): void {
    this.readings = []
    this.advanceMs = 0
    this.advanceAtMs = nowMs
    this.rate = rate
  }

  /** The player's rate changed at `nowMs` (a nudge, or the state's own rate). */
  setRate (rate: number, nowMs: number): void {
    this.advanceMs = this.advanceAt(nowMs)
    this.advanceAtMs = nowMs
    this.rate = rate
  }

  /** A reading of a playing player. */
  add (atMs: number, positionMs: number): void {
    const baseMs = positionMs - this.advanceAt(atMs)
    if (this.readings.length > 0) {
      const topMs = this.topMs()
      const rate = Math.max(this.rate, 0.01)
      if (baseMs > topMs + JUMP_AHEAD_MS * rate || baseMs < topMs - JUMP_BEHIND_MS * rate) this.readings = []
    }
    this.readings.push({ atMs, baseMs })
    while (this.readings.length > MAX_TRACK_READINGS || ((this.readings[0]?.atMs ?? atMs) < atMs - TRACK_WINDOW_MS)) this.readings.shift()
    if (!this.mature()) return
    let sum = 0
    for (const r of this.readings) sum += r.baseMs
    const meanLagMs = (this.topMs() - sum / this.readings.length) / Math.max(this.rate, 0.01)
    this.lagMs = Math.min(MAX_READING_LAG_MS, this.lagMs + (meanLagMs - this.lagMs) * LAG_LEARNING_WEIGHT)
  }

  /** Enough readings over a long enough span to trust the projection. */
  mature (): boolean {
    const first = this.readings[0]
    const last = this.readings[this.readings.length - 1]
    return first !== undefined && last !== undefined && this.readings.length >= TRACK_MIN_READINGS && last.atMs - first.atMs >= TRACK_MIN_SPAN_MS
  }

  /** Best estimate of the player's position at our time `nowMs`; null when not mature. */
  projectedMs (nowMs: number): number | null {
    if (!this.mature()) return null
    return this.topMs() + this.advanceAt(nowMs)
  }

  /** How far a single reading typically lags the truth, in ms of our time (learnt; 0 until then). */
  get readingLagMs (): number {
    return this.lagMs
  }

  private topMs (): number {
    let top = -Infinity
    for (const r of this.readings) top = Math.max(top, r.baseMs)
    return top
  }

  private advanceAt (tMs: number): number {
    return this.advanceMs + (tMs - this.advanceAtMs) * this.rate
  }
}
