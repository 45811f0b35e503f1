/**
 * The player's position between and beyond reads: a precise estimate, and the judgement of each
 * new observation as playback moving on, our seek, or the user's.
 *
 * Model. Players do not report a continuous position: mpv reports the current frame's time (steps
 * of 40 ms at 25 fps), Firefox whole seconds, VLC a value up to ~0.5 s stale. In every case the
 * reported value lags the true one by somewhere between 0 and one step. So the tracker keeps a
 * reference line E(t) (position + elapsed * rate since an anchor) and, for each read, the residual
 * r = reported - E(read time). The true position sits on the upper envelope of the residuals:
 * estimate(t) = E(t) + max(r). A read made just after a frame edge has r at the envelope, and with
 * reads at random phase the envelope is found to within step / n after n reads ("phase from the
 * frame-step edges"). The spread of the residuals, max(r) - min(r), is the player's effective
 * position granularity.
 * The read time is not known exactly: the player sampled somewhere inside the round trip. A
 * maximum is pulled up by any read whose round trip was long, so residuals are taken at the time
 * the reply arrived (a late sample can only lower them) and the typical half round trip (median)
 * is added back once.
 *
 * Judging. A read whose residual lies in the expected band (at most a step below the envelope,
 * not above it) is playback moving on. Further off it is a jump: ours if the ledger explains it,
 * the user's if it is large (> READ_JUMP_MS). A middling deviation is held back for a short grace
 * period, because the Seeked signal that explains it is usually in flight (mpv sends it 2-30 ms
 * after the seek) and must still be compared with the old line; after the grace it is accepted (a
 * stale player, or a seek too small to report). A Seeked signal is exact, so anything beyond
 * SEEKED_JUMP_MS from the estimate is a jump, with one exception: while playing, a Seeked *ahead*
 * of the estimate by no more than the reads can lag (the learnt granularity; right after a resume,
 * whose line starts from one possibly stale read, up to READ_JUMP_MS) is the truth the reads
 * lagged, not a seek. VLC sends such Seekeds ~0.2 s after every resume and now and then while
 * playing. The line moves up to it.
 * A player that sends Seeked (mpv) sends it for every seek, its user's too: a large jump seen only
 * by a read is then also held for the grace period. mpv, while it opens another file, answers reads
 * with position 0 and the old file's Metadata for a moment; the Metadata change that follows ends
 * the hold, and no seek is reported. A jump still unconfirmed after the grace is the user's.
 * A play or pause seen without a position (a signal) happened at some moment since the line was
 * last confirmed. The position is not unknown then, only bounded: between where the old line was
 * then and where it is at the change, moving on at the new rate if playing. The next position is
 * judged against that band, so a user's seek made right after our own Play (before any read
 * re-anchored the line) is still a seek. Only a new file leaves the next position unjudged.
 *
 * Pure: times come in as arguments.
 */

export interface Timeline {
  positionMs: number
  atMs: number
  playing: boolean
  rate: number
  /** Before `atMs` the player ran at this rate (a rate change that took effect only at `atMs`). */
  priorRate?: number
}

export interface Read extends Timeline {
  /** The D-Bus round trip of the read; reads with a long one say little about the phase. */
  rttMs?: number
}

/** A Seeked signal further than this (about three frames at 25 fps) from the estimate is a seek. */
export const SEEKED_JUMP_MS = 120
/**
 * Without a Seeked signal, a read this far off the estimate is a seek; smaller ones are not
 * reported. Above Firefox's 1 s position steps, which a read may lag by almost a whole step.
 */
export const READ_JUMP_MS = 1_500
/** A Seeked this soon after a resume may show how far the resume's first read lagged (VLC: ~0.2 s). */
export const RESUME_SEEKED_MS = 500
/** Seeked follows a seek by 2-30 ms on mpv; a middling read is held back at most this long for it. */
export const SEEKED_GRACE_MS = 400
/** Reads kept for the envelope: ~16 s of polling at 4 Hz (a 1 s step needs many; clock drift over 16 s is ~0.2 ms). */
export const PHASE_WINDOW = 64
/** Fewer reads than this since the last jump do not say what the player's granularity is. */
export const MIN_GRANULARITY_SAMPLES = 8
/** A read whose round trip took longer than this is judged, but not used for the envelope. */
export const MAX_PHASE_RTT_MS = 10
/**
 * mpv goes on at the old speed for this long after a speed change reads back (raw time-pos every
 * ~10 ms while playing: 280-350 ms, whether the change was ours or its user's).
 */
export const MPV_RATE_TAKES_EFFECT_MS = 300
/** How late a rate change may be seen (MPRIS PropertiesChanged is batched on a ~100 ms timer). */
export const RATE_NOTICE_MAX_MS = 100

export type Verdict =
  /** Consistent with the line: playback moving on. */
  | 'tracked'
  /** A jump explained by one of our commands. */
  | 'ours'
  /** A jump nobody commanded: the user's. */
  | 'user'
  /** A middling deviation held back until the grace period ends (reads only). */
  | 'held'

/**
 * The positions a player can be at after a play or pause seen without a position: between loMs
 * and hiMs at `atMs`, both moving on at `rate` while `playing`.
 */
interface Band {
  loMs: number
  hiMs: number
  atMs: number
  playing: boolean
  rate: number
}

export function predictMs (t: Timeline, atMs: number): number {
  if (!t.playing) return t.positionMs
  const rate = atMs < t.atMs && t.priorRate !== undefined ? t.priorRate : t.rate
  return t.positionMs + (atMs - t.atMs) * rate
}

export class PositionTracker {
  /** The reference line E(t). */
  private line: Timeline | null = null
  /** Residuals of accepted reads against `line`, at reply time, oldest first. */
  private residuals: number[] = []
  /** Round trips of the reads in `residuals` (0 for exact points such as the anchor). */
  private rtts: number[] = []
  private heldSinceMs: number | null = null
  private anchored = false
  private lastGranularityMs: number | null = null
  /** When the line last went from paused to playing. */
  private resumedAtMs: number | null = null
  /** When an observation last agreed with the line (an exact point or an accepted read). */
  private confirmedAtMs: number | null = null
  /** While unanchored by a play or pause: where the position can be (see Band). */
  private band: Band | null = null
  /** Reads before this time may show a rate change still taking effect: judged, not learnt from. */
  private quietUntilMs = -Infinity

  get timeline (): Timeline | null {
    return this.line
  }

  /** The best estimate of the true position at `atMs`; null before the first observation. */
  estimate (atMs: number): number | null {
    return this.line === null ? null : predictMs(this.line, atMs) + this.envelope()
  }

  /**
   * The spread of residuals while playing (frame step, whole seconds, staleness), from the latest
   * window with enough reads; null until one was seen.
   */
  granularityMs (): number | null {
    return this.lastGranularityMs
  }

  /** Starts over from an exact point: the first read, a jump, a status or media change. */
  reset (t: Timeline, fromRead = true): void {
    if (t.playing && this.line?.playing === false) this.resumedAtMs = t.atMs
    this.line = { positionMs: t.positionMs, atMs: t.atMs, playing: t.playing, rate: t.rate }
    this.residuals = fromRead ? [0] : []
    this.rtts = fromRead ? [0] : []
    this.heldSinceMs = null
    this.anchored = true
    this.confirmedAtMs = t.atMs
    this.band = null
    this.quietUntilMs = -Infinity
  }

  /**
   * Playing or rate changed at some moment up to `atMs` (a signal, which may be ~100 ms late),
   * or the media changed: predictions continue, and the next observation re-anchors the line. After
   * a play or pause (`bounded`) that observation is judged against the band of positions the change
   * allows; after a new file (`bounded` false) the position is anyone's, and is not judged.
   */
  unanchor (atMs: number, playing: boolean, rate: number, bounded = true): void {
    if (playing && this.line?.playing === false) this.resumedAtMs = atMs
    this.band = bounded ? this.bandAfterChange(atMs, playing, rate) : null
    const positionMs = this.estimate(atMs)
    if (positionMs !== null) this.line = { positionMs, atMs, playing, rate }
    this.residuals = []
    this.rtts = []
    this.heldSinceMs = null
    this.anchored = false
  }

  /**
   * Where the position can be after a change at an unknown moment between the last confirmation
   * and `atMs`: anywhere the old motion reached in that span (the hull of the ends), and, when the
   * change started playback, up to that span's worth of play further on.
   */
  private bandAfterChange (atMs: number, playing: boolean, rate: number): Band | null {
    // Already unanchored by a new file: the position is still anyone's.
    if (!this.anchored && this.band === null) return null
    const sinceMs = Math.min(this.confirmedAtMs ?? atMs, atMs)
    const [loThen, hiThen] = this.rangeAt(sinceMs) ?? [null, null]
    const [loNow, hiNow] = this.rangeAt(atMs) ?? [null, null]
    if (loThen === null || hiThen === null || loNow === null || hiNow === null) return null
    const spreadMs = playing ? (atMs - sinceMs) * rate : 0
    return { loMs: Math.min(loThen, loNow), hiMs: Math.max(hiThen, hiNow) + spreadMs, atMs, playing, rate }
  }

  /** The positions the player can be at `atMs`: the band's while unanchored by a play or pause, else the estimate. */
  private rangeAt (atMs: number): [number, number] | null {
    if (!this.anchored && this.band !== null) {
      const movedMs = this.band.playing ? (atMs - this.band.atMs) * this.band.rate : 0
      return [this.band.loMs + movedMs, this.band.hiMs + movedMs]
    }
    const estimate = this.estimate(atMs)
    return estimate === null ? null : [estimate, estimate]
  }

  /** How far `positionMs` lies outside the band at `atMs` (positive: ahead of it; 0 inside). */
  private outsideBandMs (positionMs: number, atMs: number): number {
    const [lo, hi] = this.rangeAt(atMs) ?? [positionMs, positionMs]
    return positionMs > hi ? positionMs - hi : positionMs < lo ? positionMs - lo : 0
  }

  /**
   * The rate changed, seen at `atMs`, and the position did not jump: continue the line with the
   * new rate. Residuals are kept when `keepPhase` (our own change: the line is continuous, so they
   * stay comparable). A player that goes on at the old rate for `takesEffectMs` (mpv) keeps the old
   * line till then. When exactly is not known (the change may have been seen up to
   * RATE_NOTICE_MAX_MS late), and the envelope only ever moves up: the line switches at the moment
   * that leaves it at or below the truth (the latest for a faster rate, the earliest for a slower
   * one), and reads until the latest are judged but not learnt from.
   */
  retime (atMs: number, rate: number, keepPhase: boolean, takesEffectMs = 0): void {
    if (this.line === null) return
    const priorRate = this.line.rate
    const delayed = this.line.playing && takesEffectMs > 0 && rate !== priorRate
    const switchMs = !delayed ? atMs : rate > priorRate ? atMs + takesEffectMs : atMs + Math.max(0, takesEffectMs - RATE_NOTICE_MAX_MS)
    const positionMs = predictMs(this.line, switchMs)
    this.line = { positionMs, atMs: switchMs, playing: this.line.playing, rate }
    if (delayed) {
      this.line.priorRate = priorRate
      this.quietUntilMs = atMs + takesEffectMs
    }
    if (!keepPhase) {
      this.line.positionMs += this.envelope()
      this.residuals = []
      this.rtts = []
    }
  }

  /** A Seeked signal (exact position). `explain` is asked only for a jump, and consumes the command it matches. */
  seeked (t: Timeline, explain: () => boolean): Verdict {
    const judged = this.line !== null && (this.anchored || this.band !== null)
    const offMs = this.anchored ? t.positionMs - (this.estimate(t.atMs) ?? t.positionMs) : this.outsideBandMs(t.positionMs, t.atMs)
    if (judged && this.anchored && Math.abs(offMs) <= SEEKED_JUMP_MS) {
      // Consistent (Chromium sends Seeked on every state change): the envelope knows better.
      this.heldSinceMs = null
      this.confirmedAtMs = t.atMs
      return 'tracked'
    }
    const lagged = judged && this.withinReadLag(t, offMs)
    this.reset(t, false)
    if (!judged || Math.abs(offMs) <= SEEKED_JUMP_MS) return 'tracked'
    if (explain()) return 'ours'
    return lagged ? 'tracked' : 'user'
  }

  /** Whether a Seeked `aheadMs` past the estimate is only what the reads lag behind the truth. */
  private withinReadLag (t: Timeline, aheadMs: number): boolean {
    if (!t.playing || this.line?.playing !== true || aheadMs <= 0) return false
    const justResumed = this.resumedAtMs !== null && t.atMs - this.resumedAtMs <= RESUME_SEEKED_MS
    const lagMs = Math.max(this.lastGranularityMs ?? 0, justResumed ? READ_JUMP_MS : 0)
    return aheadMs <= SEEKED_JUMP_MS + lagMs
  }

  /**
   * A polled position. `sendsSeeked`: the player sends Seeked for every seek, so a large jump
   * with no Seeked yet is held for one (see the account at the top).
   */
  read (t: Read, explain: () => boolean, sendsSeeked = false): Verdict {
    const line = this.line
    if (line === null || (!this.anchored && this.band === null)) {
      this.reset(t)
      return 'tracked'
    }
    const halfRttMs = (t.rttMs ?? 0) / 2
    const residual = t.positionMs - predictMs(line, t.atMs + halfRttMs)
    const aheadMs = this.anchored ? residual - this.maxResidual() : this.outsideBandMs(t.positionMs, t.atMs + halfRttMs)
    const stepMs = (this.anchored ? this.spread() : this.lastGranularityMs) ?? 0
    if (aheadMs <= SEEKED_JUMP_MS && -aheadMs <= stepMs + SEEKED_JUMP_MS) {
      if (this.anchored) this.accept(residual, t.rttMs, t.atMs)
      else this.reset(t)
      return 'tracked'
    }
    if (explain()) {
      this.reset(t)
      return 'ours'
    }
    const large = aheadMs > READ_JUMP_MS || -aheadMs > READ_JUMP_MS + stepMs
    if (large && !sendsSeeked) {
      this.reset(t)
      return 'user'
    }
    this.heldSinceMs ??= t.atMs
    if (t.atMs - this.heldSinceMs < SEEKED_GRACE_MS) return 'held'
    if (large) {
      this.reset(t)
      return 'user'
    }
    // Nothing explained it in time. Behind: a stale or coarse player, learn from it. Ahead: the
    // player is further on than we thought; the envelope cannot move down to it, so re-anchor.
    if (aheadMs > SEEKED_JUMP_MS || !this.anchored) this.reset(t)
    else this.accept(residual, t.rttMs, t.atMs)
    return 'tracked'
  }

  private accept (residual: number, rttMs: number | undefined, atMs: number): void {
    this.heldSinceMs = null
    this.confirmedAtMs = atMs
    if (rttMs !== undefined && rttMs > MAX_PHASE_RTT_MS) return
    if (atMs < this.quietUntilMs) return
    this.residuals.push(residual)
    this.rtts.push(rttMs ?? 0)
    if (this.residuals.length > PHASE_WINDOW) {
      this.residuals.shift()
      this.rtts.shift()
    }
    const spread = this.spread()
    if (spread !== null && this.line?.playing === true) this.lastGranularityMs = spread
  }

  /** max(residual at reply time) + how far playback moves in a typical half round trip. */
  private envelope (): number {
    const line = this.line
    const lagMs = line !== null && line.playing ? this.medianHalfRtt() * line.rate : 0
    return this.maxResidual() + lagMs
  }

  private maxResidual (): number {
    return this.residuals.length === 0 ? 0 : Math.max(...this.residuals)
  }

  private medianHalfRtt (): number {
    if (this.rtts.length === 0) return 0
    const sorted = [...this.rtts].sort((a, b) => a - b)
    return (sorted[Math.floor(sorted.length / 2)] ?? 0) / 2
  }

  private spread (): number | null {
    if (this.residuals.length < MIN_GRANULARITY_SAMPLES) return null
    return Math.max(...this.residuals) - Math.min(...this.residuals)
  }
}
