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
 * The first reading after a jump (a start, a seek, a user's play) lags more than later ones do:
 * it is one frame-floored value (mpv: 0-40 ms behind), while the daemon's later readings come from
 * a player layer that keeps its own envelope. How far it lagged is learnt separately, by comparing
 * it with the envelope once the track is mature: that is what a user action published from one
 * fresh reading must add, and what a quick judgement of a start from a few readings must allow.
 * Likewise how far the envelope of the first ROUGH_READINGS falls short of the mature one: a rough
 * estimate (an action re-anchored within half a second) adds it.
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
/**
 * One reading far below the envelope may just be late (a read delayed under load), but this many
 * in a row, each more than LOST_TIME_MS below it and more than LOST_TIME_SPREAD_SHARE x as far as
 * the readings of the last mature window spread below it (VLC's stale values: ~500 ms, so never
 * for such a player), are a player that lost time: mpv starved of CPU stops for a few hundred ms
 * (seen: 248 ms at load ~35). Taken for lag, the loss would hide behind the envelope until the
 * readings before it leave the window (TRACK_WINDOW_MS).
 */
export const LOST_TIME_READINGS = 3
export const LOST_TIME_MS = 80
export const LOST_TIME_SPREAD_SHARE = 2
/** Weight of each new reading's window mean lag in the learnt lag (smooths over many windows). */
export const LAG_LEARNING_WEIGHT = 0.05
/** A learnt lag (ms of our time) beyond this is not lag but a broken reading: cap it. */
export const MAX_READING_LAG_MS = 500
/**
 * First guess of a fresh reading's lag: half a frame at 25 fps (mpv reports the shown frame's
 * time, 0-40 ms behind). Learnt per player from the first few jumps.
 */
export const FRESH_READING_LAG_MS = 20
/** Weight of each jump's measured fresh-reading lag (it varies 0..frame: average over ~5 jumps). */
export const FRESH_LAG_LEARNING_WEIGHT = 0.2
/** A rough estimate is made from this many readings after a jump (~0.35 s of polling at 100 ms). */
export const ROUGH_READINGS = 5

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
  /** Before `advanceAtMs` (a rate change still taking effect) the player ran at this rate. */
  private priorRate = 1
  /** Readings before this local time show a change not yet taken effect at an unknown moment: skipped. */
  private quietUntilMs = -Infinity
  private lagMs = 0
  private freshLagMs = FRESH_READING_LAG_MS
  /** First guess: n lags uniform in [0, 2 x fresh lag] have an envelope 2 x fresh lag / (n + 1) short. */
  private roughShortMs = 2 * FRESH_READING_LAG_MS / (ROUGH_READINGS + 1)
  /** The first reading since the last reset, until the mature envelope has judged it... */
  private first: Reading | null = null
  /** ...and the envelope (base) of the first ROUGH_READINGS. */
  private roughTopMs: number | null = null
  private judgeFirst = false
  /** The readings since the reset follow a `play` of ours: the first may predate its taking effect (`dropStanding`). */
  private afterPlay = false
  /** Readings in a row since the last one near the envelope that sat far below it (see LOST_TIME_READINGS). */
  private lowRun = 0
  /** How far below the envelope the readings of the last mature window reached (ms of our time); null before one. */
  private spreadMs: number | null = null
  /** The latest reading, when the player layer fitted it itself (see `add`); null otherwise. */
  private fittedReading: { baseMs: number, uncertaintyMs: number } | null = null

  /**
   * The player jumped (seek, pause, start, user action): older readings say nothing of it now.
   * `fresh`: the next reading is a first one after a jump (false: a small jump of a playing player
   * whose readings stay as good as they were, such as a rate change).
   */
  reset (nowMs: number, rate: number, fresh = true): void {
    this.readings = []
    this.advanceMs = 0
    this.advanceAtMs = nowMs
    this.rate = rate
    this.priorRate = rate
    this.quietUntilMs = -Infinity
    this.first = null
    this.roughTopMs = null
    this.judgeFirst = fresh
    this.afterPlay = false
    this.lowRun = 0
    this.fittedReading = null
  }

  /** As `reset`, after a `play` of ours (a scheduled start): see `dropStanding`. */
  resetAfterPlay (nowMs: number, rate: number): void {
    this.reset(nowMs, rate)
    this.afterPlay = true
  }

  /**
   * The player's rate changed at `nowMs` (a nudge, the state's own rate, or a reading showing that
   * a change has not landed yet), and takes effect `takesEffectMs` later: the old rate goes on till
   * then (mpv: ~0.3 s). History is not rewritten: a time before the last change is taken as that
   * change's time.
   */
  setRate (rate: number, nowMs: number, takesEffectMs = 0): void {
    const atMs = Math.max(nowMs + takesEffectMs, this.advanceAtMs)
    this.advanceMs = this.advanceAt(atMs)
    this.advanceAtMs = atMs
    this.priorRate = this.rate
    this.rate = rate
  }

  /**
   * Readings before `untilMs` are skipped: the player's rate changed at a moment not known exactly
   * (a user's change, noticed late) and has surely taken effect only by then.
   */
  quietUntil (untilMs: number): void {
    this.quietUntilMs = untilMs
  }

  /** When the latest rate change has taken effect (local time; may be ahead of now). */
  get rateSettledAtMs (): number {
    return this.advanceAtMs
  }

  /** The rate the track takes the player to run at now. */
  get currentRate (): number {
    return this.rate
  }

  /** The player jumped `byMs` ahead and we know it: the readings so far move along. */
  shift (byMs: number): void {
    for (const r of this.readings) r.baseMs += byMs
    if (this.fittedReading !== null) this.fittedReading.baseMs += byMs
  }

  /**
   * A reading of a playing player. Returns true when it shows the player jumped (a seek nobody told
   * us of, or time lost): the track then starts again from the readings that show where it is now.
   * `uncertaintyMs`: the player layer fitted this position itself (a coarse player's step edges)
   * and it is off by at most that much either way. Such estimates scatter around the truth as the
   * fit narrows (VLC: by 30-50 ms in the first seconds after a jump), so their upper envelope would
   * be as far ahead as the scatter: the projection takes the latest one as it is.
   */
  add (atMs: number, positionMs: number, uncertaintyMs?: number): boolean {
    if (atMs < this.quietUntilMs) return false
    const baseMs = positionMs - this.advanceAt(atMs)
    this.fittedReading = uncertaintyMs === undefined ? null : { baseMs, uncertaintyMs }
    let jumped = false
    if (this.readings.length > 0) {
      const topMs = this.topMs()
      const rate = Math.max(this.rate, 0.01)
      const low = this.spreadMs !== null && baseMs < topMs - Math.max(LOST_TIME_MS, LOST_TIME_SPREAD_SHARE * this.spreadMs) * rate
      this.lowRun = low ? this.lowRun + 1 : 0
      if (baseMs > topMs + JUMP_AHEAD_MS * rate || baseMs < topMs - JUMP_BEHIND_MS * rate) {
        // A jump nobody told us of: its first reading is not known to be fresh.
        this.readings = []
        this.judgeFirst = false
        this.lowRun = 0
        jumped = true
      } else if (this.lowRun >= LOST_TIME_READINGS) {
        // Lost time: the envelope restarts from this reading (the ones before it may still show
        // the player standing: above where it runs on from).
        this.readings = []
        this.judgeFirst = false
        this.lowRun = 0
        jumped = true
      }
    }
    const reading = { atMs, baseMs }
    if (this.judgeFirst && this.first === null) this.first = reading
    this.readings.push(reading)
    if (this.afterPlay && this.judgeFirst && this.roughTopMs === null && this.readings.length === ROUGH_READINGS) this.dropStanding()
    if (this.judgeFirst && this.roughTopMs === null && this.readings.length === ROUGH_READINGS) this.roughTopMs = this.topMs()
    while (this.readings.length > MAX_TRACK_READINGS || ((this.readings[0]?.atMs ?? atMs) < atMs - TRACK_WINDOW_MS)) this.readings.shift()
    if (!this.mature()) return jumped
    if (this.fittedReading !== null) {
      // Estimates the layer fitted do not lag, they scatter: their envelope teaches no lag. Where a
      // fitted player's own actions land is learnt from its sure fits instead (publish.ts).
      this.judgeFirst = false
      this.first = null
      this.roughTopMs = null
      return jumped
    }
    const rate = Math.max(this.rate, 0.01)
    const topMs = this.topMs()
    let sum = 0
    for (const r of this.readings) sum += r.baseMs
    const meanLagMs = (topMs - sum / this.readings.length) / rate
    this.lagMs = Math.min(MAX_READING_LAG_MS, this.lagMs + (meanLagMs - this.lagMs) * LAG_LEARNING_WEIGHT)
    if (this.lowRun === 0) this.spreadMs = (topMs - Math.min(...this.readings.map(r => r.baseMs))) / rate
    if (this.judgeFirst && this.first !== null) {
      const firstLagMs = Math.min(MAX_READING_LAG_MS, Math.max(0, (topMs - this.first.baseMs) / rate))
      this.freshLagMs += (firstLagMs - this.freshLagMs) * FRESH_LAG_LEARNING_WEIGHT
    }
    if (this.judgeFirst && this.roughTopMs !== null) {
      const shortMs = Math.min(MAX_READING_LAG_MS, Math.max(0, (topMs - this.roughTopMs) / rate))
      this.roughShortMs += (shortMs - this.roughShortMs) * FRESH_LAG_LEARNING_WEIGHT
    }
    this.judgeFirst = false
    this.first = null
    this.roughTopMs = null
    return jumped
  }

  /** Readings in the window (since the last reset or jump). */
  get size (): number {
    return this.readings.length
  }

  /** Enough readings over a long enough span to trust the projection. */
  mature (): boolean {
    const first = this.readings[0]
    const last = this.readings[this.readings.length - 1]
    return first !== undefined && last !== undefined && this.readings.length >= TRACK_MIN_READINGS && last.atMs - first.atMs >= TRACK_MIN_SPAN_MS
  }

  /**
   * Best estimate of the player's position at our time `nowMs`; null when not mature. From the
   * envelope of the readings, or for a player the layer fits itself, its latest estimate.
   */
  projectedMs (nowMs: number): number | null {
    if (!this.mature()) return null
    return (this.fittedReading?.baseMs ?? this.topMs()) + this.advanceAt(nowMs)
  }

  /**
   * How far the projection may be off either way, as the player layer says of its own fit
   * (`add`); 0 for readings the track fits itself.
   */
  get uncertaintyMs (): number {
    return this.fittedReading?.uncertaintyMs ?? 0
  }

  /**
   * What an error of `errMs` (the projection against where the player should be) is surely: less
   * the uncertainty, towards 0, never past it.
   */
  surelyOffMs (errMs: number): number {
    return Math.sign(errMs) * Math.max(0, Math.abs(errMs) - this.uncertaintyMs)
  }

  /** The latest reading was fitted by the player layer (`add`). */
  get fitted (): boolean {
    return this.fittedReading !== null
  }

  /**
   * A rough estimate from however few readings there are (a start is judged on two): their
   * envelope, plus what such an envelope typically falls short of the truth: learnt for
   * ROUGH_READINGS or more; for fewer, as if their lags were uniform in [0, 2 x fresh lag] (n of
   * them fall short by 2 x fresh lag / (n + 1)). Null without readings.
   */
  roughMs (nowMs: number): number | null {
    const n = this.readings.length
    if (n === 0) return null
    const shortMs = n >= ROUGH_READINGS ? this.roughShortMs : 2 * this.freshLagMs / (n + 1)
    return this.topMs() + this.advanceAt(nowMs) + shortMs * this.rate
  }

  /**
   * How far below their envelope the readings since the last reset reach, ms of our time: a frame
   * for mpv, up to a refresh for a player whose values are stale (VLC: ~500 ms). Known before any
   * lag is learnt (a new player, a restarted daemon). 0 without readings.
   */
  get youngSpreadMs (): number {
    if (this.readings.length === 0) return 0
    return (this.topMs() - Math.min(...this.readings.map(r => r.baseMs))) / Math.max(this.rate, 0.01)
  }

  /** What the track learnt of this player's readings (see learnt.ts). */
  get learnt (): { readingLagMs: number, freshReadingLagMs: number, roughShortMs: number } {
    return { readingLagMs: this.lagMs, freshReadingLagMs: this.freshLagMs, roughShortMs: this.roughShortMs }
  }

  /** Starts learning from what was learnt of this kind of player before (bounded by the caller); a value left out stays. */
  teach (l: { readingLagMs?: number, freshReadingLagMs?: number, roughShortMs?: number }): void {
    this.lagMs = l.readingLagMs ?? this.lagMs
    this.freshLagMs = l.freshReadingLagMs ?? this.freshLagMs
    this.roughShortMs = l.roughShortMs ?? this.roughShortMs
  }

  /** How far a single reading typically lags the truth, in ms of our time (learnt; 0 until then). */
  get readingLagMs (): number {
    return this.lagMs
  }

  /** How far the first reading after a jump lags the truth, in ms of our time (learnt). */
  get freshReadingLagMs (): number {
    return this.freshLagMs
  }

  /**
   * A first reading after a start further above the envelope of the next ones than they can lag
   * (a fresh reading's lag, the most the envelope of a few later ones falls short) was taken
   * before `play` took effect: the player stood on its frame (a play that landed late, on a
   * loaded machine). Kept, it put the envelope that much ahead: in the simulator, a start that
   * landed 60 ms late judged in step, and the mature track, keeping it for its window, saw
   * two-thirds of the miss. Dropped, it teaches no fresh lag.
   */
  private dropStanding (): void {
    const first = this.readings[0]
    if (first === undefined || first !== this.first) return
    const rate = Math.max(this.rate, 0.01)
    let laterTopMs = -Infinity
    let laterLowMs = Infinity
    for (const r of this.readings.slice(1)) {
      laterTopMs = Math.max(laterTopMs, r.baseMs)
      laterLowMs = Math.min(laterLowMs, r.baseMs)
    }
    // Later readings spread wider than two fresh lags are stale ones (VLC repeats a value for
    // ~500 ms): a first reading above them is just a fresher one.
    if (laterTopMs - laterLowMs > 2 * this.freshLagMs * rate) return
    if (first.baseMs <= laterTopMs + this.freshLagMs * rate) return
    this.readings.shift()
    this.first = null
  }

  private topMs (): number {
    let top = -Infinity
    for (const r of this.readings) top = Math.max(top, r.baseMs)
    return top
  }

  private advanceAt (tMs: number): number {
    return this.advanceMs + (tMs - this.advanceAtMs) * (tMs < this.advanceAtMs ? this.priorRate : this.rate)
  }
}
