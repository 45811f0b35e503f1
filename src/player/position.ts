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
 * Coarse players (steps longer than the reads' spacing: VLC's value refreshed once a second,
 * Firefox's whole seconds) are fitted from their step edges, not from the stale values between
 * them: the reported value changes when the true position crosses it, so the edge lies between
 * the last read of the old value and the first read of the new one. Each edge bounds the phase
 * from both sides (the new value minus the line at the first read is a lower bound, at the last
 * old read an upper bound); the estimate is the middle of the bounds that all edges leave. The
 * first read after a jump is no such bound for them: VLC reports a seek's target at once, ~80 ms
 * before its picture moves there, so until the first edge the anchor stands in for the estimate.
 * VLC's first refreshes after a start or a seek also lead its picture by more than later ones
 * (quirks.ts), so a player can have its edges in a line's first moments left out (`edgeSettleMs`):
 * the anchor stands until a later edge.
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
 * playing. The line moves up to it. VLC's Seeked is no landing at all but its (stale) value: within
 * MAX_STALE_MS of a resume or a rate change, one *behind* the estimate by less than READ_JUMP_MS is
 * judged as a read.
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
/**
 * A stale player refreshes its value at least this often (VLC: about once a second headless): a
 * value repeated from before a resume is stale no longer than this after it.
 */
export const MAX_STALE_MS = 1_500
/**
 * VLC's Seeked after a resume carries the frame it paused on, at or before what it reported paused
 * (486 after 496 reported): within this (a frame at 25 fps) it is that position.
 */
export const RESUME_REPEAT_TOLERANCE_MS = 40
/** Seeked follows a seek by 2-30 ms on mpv; a middling read is held back at most this long for it. */
export const SEEKED_GRACE_MS = 400
/** Reads kept for the envelope: ~16 s of polling at 4 Hz (a 1 s step needs many; clock drift over 16 s is ~0.2 ms). */
export const PHASE_WINDOW = 64
/** Fewer reads than this since the last jump do not say what the player's granularity is. */
export const MIN_GRANULARITY_SAMPLES = 8
/**
 * A fine player (mpv) whose last this many reads on the line all lie below the earlier reads'
 * envelope by more than the player's granularity lost that time (a stall: mpv on a loaded machine
 * fell 60-250 ms behind and stayed there). Enough reads that they cover the frame's phases.
 */
export const LOSS_READS = 8
/** Beyond the granularity, what the reads' times may be off by (their round trip, at most MAX_PHASE_RTT_MS). */
export const LOSS_MARGIN_MS = 10
/** A read whose round trip took longer than this is judged, but not used for the envelope. */
export const MAX_PHASE_RTT_MS = 10
/** How late a rate change may be seen (MPRIS PropertiesChanged is batched on a ~100 ms timer). */
export const RATE_NOTICE_MAX_MS = 100
/**
 * A player whose steps are longer than this is fitted from its step edges: the reads (~250 ms
 * apart) then bracket each edge closely. mpv's 40 ms frames are not (several go by between reads:
 * the read before says little).
 */
export const COARSE_STEP_MS = 300
/** A change of the reported value by more than this is a step edge (VLC's value wobbles by microseconds between refreshes). */
export const EDGE_MIN_CHANGE_MS = 5
/** A seek's anchor is measured against the edge fit once this many edges followed it (one edge leaves the phase within a read's spacing). */
export const SEEK_LEAD_MIN_EDGES = 2
/** Share of each measured seek lead folded into the learnt one (a read late after the seek measures less). */
export const SEEK_LEAD_LEARNING_WEIGHT = 0.25
/** A learnt seek lead stays within this: beyond it the anchor was no seek report (a player's steps are ~1 s). */
export const MAX_SEEK_LEAD_MS = 300

/**
 * How a player's reported value relates to what it shows, where that is known for the player
 * (quirks.ts): both 0 for a player whose value is its picture (mpv).
 */
export interface ValueQuirks {
  /** While playing, the value (as the edge fit finds it) leads the picture by this much, ms. */
  valueLeadMs: number
  /** While playing, a seek's reported target leads the value by this much, ms: a first guess, then learnt. */
  seekLeadMs: number
  /**
   * Its Seeked carries its value, as stale as a read's, not where it landed (VLC sends one whenever
   * its value jumps against its own projection: after a start that came late, a rate change, or
   * showing the keyframe before a seek's target).
   */
  seekedIsValue?: boolean
  /**
   * Step edges this soon after the line's anchor (a start or a seek) are not fitted: the player's
   * first refreshes there lead its picture by more than its value lead (the anchor stands until a
   * later edge). 0: every edge is fitted.
   */
  edgeSettleMs?: number
}

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

/** How long before `atMs` the moment `thenMs` was; Infinity when it never was. */
function sinceMs (thenMs: number | null, atMs: number): number {
  return thenMs === null ? Infinity : atMs - thenMs
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
  /** The value the first held read showed (a stale player repeats it until its next refresh). */
  private heldValueMs: number | null = null
  /** The position a seek reported, while the line is anchored at it: a later Seeked with it is the same seek. */
  private jumpTargetMs: number | null = null
  private anchored = false
  private lastGranularityMs: number | null = null
  /** The granularity learnt before the current line began (reads on it may show a loss, which widens their spread). */
  private lineGranularityMs: number | null = null
  /** When the line last went from paused to playing. */
  private resumedAtMs: number | null = null
  /** When the rate last changed (ours or the user's): VLC then sends a Seeked with its stale value. */
  private rateChangedAtMs: number | null = null
  /** What the player last reported while paused (null once it reports playing)... */
  private pausedReportMs: number | null = null
  /** ...and that, when the line last went to playing. */
  private resumedFromMs: number | null = null
  /** No read since the line last went to playing showed a value other than `resumedFromMs` (a stale player's value not refreshed yet). */
  private resumeValueStale = false
  /** When an observation last agreed with the line (an exact point or an accepted read). */
  private confirmedAtMs: number | null = null
  /** While unanchored by a play or pause: where the position can be (see Band). */
  private band: Band | null = null
  /** Reads before this time may show a rate change still taking effect: judged, not learnt from. */
  private quietUntilMs = -Infinity
  /** The last accepted read on this line: its value and the earliest moment the player can have sampled it. */
  private lastRead: { positionMs: number, sampledFromMs: number } | null = null
  /** Per step edge since the line's anchor, the phase's lower and upper bound (residuals against `line`). */
  private edgeLowers: number[] = []
  private edgeUppers: number[] = []
  /** How far a coarse player's value moves at each edge (VLC: ~998 ms), learnt from two edges in a row; kept across jumps. */
  private coarseStepMs: number | null = null
  /** The value at the last edge on this line (null: none yet). */
  private lastEdgeValueMs: number | null = null
  private valueLeadMs = 0
  /** How far a coarse player's reported seek target leads its value (learnt from the edges after each seek). */
  private seekLeadMs = 0
  /** The line is anchored at a coarse player's seek report, moved back by this lead (null: it is not). */
  private seekLeadAppliedMs: number | null = null
  private seekedIsValue_ = false
  private edgeSettleMs = 0

  /** Sets what is known of this player's value and picture (see ValueQuirks). */
  setQuirks (q: ValueQuirks): void {
    this.valueLeadMs = q.valueLeadMs
    this.seekLeadMs = q.seekLeadMs
    this.seekedIsValue_ = q.seekedIsValue ?? false
    this.edgeSettleMs = q.edgeSettleMs ?? 0
  }

  /** Whether this player's Seeked carries its (stale) value rather than where it landed (ValueQuirks). */
  get seekedIsValue (): boolean {
    return this.seekedIsValue_
  }

  /** How far this player's seek reports lead its value, as learnt so far (ms). */
  get learntSeekLeadMs (): number {
    return this.seekLeadMs
  }

  get timeline (): Timeline | null {
    return this.line
  }

  /**
   * The best estimate of the position shown at `atMs`; null before the first observation. A
   * player whose value leads its picture while playing (VLC) is shown that much behind its value.
   */
  estimate (atMs: number): number | null {
    const valueMs = this.valueAt(atMs)
    return valueMs === null || this.line?.playing !== true ? valueMs : valueMs - this.valueLeadMs * this.line.rate
  }

  /** Where the player's value is at `atMs` (the line and its envelope): what its reads are judged against. */
  private valueAt (atMs: number): number | null {
    return this.line === null ? null : predictMs(this.line, atMs) + this.envelope()
  }

  /**
   * The spread of residuals while playing (frame step, whole seconds, staleness), from the latest
   * window with enough reads; null until one was seen.
   */
  granularityMs (): number | null {
    return this.lastGranularityMs
  }

  /**
   * How far the estimate may be from the position shown, for a coarse player fitted from its step
   * edges: half of what the edges leave of the phase (one edge leaves the spacing of the reads
   * around it; VLC read 10 times a second is within ~10 ms after 3-5 edges); before an edge is
   * fitted, half a step (the anchor stands in). Null for a player whose reads only lag (the sync
   * engine fits those itself) and while paused (the value is where the player rests). A player once
   * seen stepping coarsely stays so: right after a resume the few reads on the new line spread
   * less than a step, and VLC's estimate then says nothing sure until its edges do.
   */
  uncertaintyMs (): number | null {
    const coarseNow = this.coarseNow()
    const stepMs = this.coarseStepMs ?? (coarseNow ? this.lastGranularityMs : null)
    if (this.line?.playing !== true || stepMs === null) return null
    const phase = coarseNow ? this.phaseBounds() : null
    return phase === null ? stepMs / 2 : Math.max(0, (phase.upperMs - phase.lowerMs) / 2)
  }

  /** The reads show steps longer than a read's spacing: fitted from its step edges. */
  private coarseNow (): boolean {
    return (this.lastGranularityMs ?? 0) > COARSE_STEP_MS
  }

  /** What the step edges since the line's anchor leave of the phase (residuals against the line); null before one. */
  private phaseBounds (): { lowerMs: number, upperMs: number } | null {
    if (this.edgeUppers.length === 0) return null
    return { lowerMs: Math.max(...this.edgeLowers), upperMs: Math.min(...this.edgeUppers) }
  }

  /** Starts over from an exact point: the first read, a jump, a status or media change. */
  reset (t: Timeline, fromRead = true): void {
    this.learnSeekLead()
    if (t.playing && this.line?.playing === false) this.noteResume(t.atMs)
    this.line = { positionMs: t.positionMs, atMs: t.atMs, playing: t.playing, rate: t.rate }
    this.lineGranularityMs = this.lastGranularityMs
    this.residuals = fromRead ? [0] : []
    this.rtts = fromRead ? [0] : []
    this.forgetEdges(fromRead ? { positionMs: t.positionMs, sampledFromMs: t.atMs - ((t as Read).rttMs ?? 0) / 2 } : null)
    this.heldSinceMs = null
    this.anchored = true
    this.confirmedAtMs = t.atMs
    this.band = null
    this.quietUntilMs = -Infinity
    this.seekLeadAppliedMs = null
    this.jumpTargetMs = null
  }

  /**
   * A seek (the user's, or ours) seen at `t`. A coarse player reports a seek's target at once, before
   * it plays from there (VLC: ~80 ms before its picture gets there): the line starts that much back,
   * by the lead learnt from its earlier seeks (or the player's known one), so that the room is not
   * sent ahead of it. The edges that follow say how far back it really was (learnSeekLead).
   */
  private resetAtJump (t: Timeline, fromRead: boolean): void {
    this.reset(t, fromRead)
    this.jumpTargetMs = t.positionMs
    const line = this.line
    if (line === null || !t.playing || !this.coarseNow()) return
    line.positionMs -= this.seekLeadMs * t.rate
    this.seekLeadAppliedMs = this.seekLeadMs
  }

  /**
   * Before a line anchored at a seek report is replaced: once edges followed, what they leave of the
   * phase (relative to the anchor moved back by the applied lead) measures the lead this seek had.
   */
  private learnSeekLead (): void {
    const applied = this.seekLeadAppliedMs
    this.seekLeadAppliedMs = null
    if (applied === null || this.edgeUppers.length < SEEK_LEAD_MIN_EDGES) return
    const measuredMs = Math.min(MAX_SEEK_LEAD_MS, Math.max(0, applied - this.envelope()))
    this.seekLeadMs += (measuredMs - this.seekLeadMs) * SEEK_LEAD_LEARNING_WEIGHT
  }

  private forgetEdges (lastRead: { positionMs: number, sampledFromMs: number } | null): void {
    this.lastRead = lastRead
    this.edgeLowers = []
    this.edgeUppers = []
    this.lastEdgeValueMs = null
  }

  /**
   * When a read would tell the most about a coarse player's phase: the moment its next edge is due
   * by the current estimate. A read there halves what the edges leave of the phase, whichever side
   * of the edge it falls on. Null when the player is not coarse or its step is not known yet.
   */
  nextEdgeMs (): number | null {
    const line = this.line
    const last = this.lastRead
    const stepMs = this.coarseStepMs
    if (line === null || last === null || stepMs === null || !line.playing || !this.anchored || line.rate <= 0) return null
    // An edge left out (edgeSettleMs) still times the next.
    if (!this.coarseNow() || this.lastEdgeValueMs === null) return null
    return line.atMs + (last.positionMs + stepMs - this.envelope() - line.positionMs) / line.rate
  }

  /**
   * Playing or rate changed at some moment up to `atMs` (a signal, which may be ~100 ms late),
   * or the media changed: predictions continue, and the next observation re-anchors the line. After
   * a play or pause (`bounded`) that observation is judged against the band of positions the change
   * allows; after a new file (`bounded` false) the position is anyone's, and is not judged.
   */
  unanchor (atMs: number, playing: boolean, rate: number, bounded = true): void {
    if (playing && this.line?.playing === false) this.noteResume(atMs)
    this.band = bounded ? this.bandAfterChange(atMs, playing, rate) : null
    const positionMs = this.valueAt(atMs)
    this.learnSeekLead()
    this.jumpTargetMs = null
    if (positionMs !== null) this.line = { positionMs, atMs, playing, rate }
    this.residuals = []
    this.rtts = []
    this.forgetEdges(null)
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
    const estimate = this.valueAt(atMs)
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
    this.rateChangedAtMs = atMs
    if (!keepPhase) this.learnSeekLead()
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
      this.forgetEdges(null)
    }
  }

  /** A Seeked signal (exact position). `explain` is asked only for a jump, and consumes the command it matches. */
  seeked (t: Timeline, explain: () => boolean): Verdict {
    const judged = this.line !== null && (this.anchored || this.band !== null)
    const offMs = this.anchored ? t.positionMs - (this.valueAt(t.atMs) ?? t.positionMs) : this.outsideBandMs(t.positionMs, t.atMs)
    const resumeRepeat = this.repeatsResumePoint(t, offMs)
    this.noteReport(t)
    // VLC also sends Seeked with the stale value its reads repeat (after our Play: 0 while it
    // plays on): behind the estimate, that is no seek.
    // VLC also sends Seeked, up to ~1 s late, with the target of a seek already anchored.
    // Not when it shows what a read held for a Seeked showed: that confirms the jump (mpv's IPC
    // pushes the landing as a position just before its playback-restart, so the landing always
    // repeats the last read; taken for a stale repeat, a seek of the viewer's minutes back was
    // never reported, and the line moved to it by averaging, so the daemon seeked the viewer back).
    // (A read may be held a few frames past the landing: our own read before a rate command.)
    const confirmsHeld = this.heldSinceMs !== null && this.heldValueMs !== null && Math.abs(t.positionMs - this.heldValueMs) < Math.abs(offMs) / 2
    const staleRepeat = !confirmsHeld && this.anchored && offMs < 0 && (this.repeatsLastRead(t) || this.repeatsJumpTarget(t))
    // A Seeked that is only a value, behind the estimate by less than a read must be to be a
    // seek, while the line may still stand on a stale value, is judged as a read: a stale repeat,
    // or a refresh (a step edge) the fit learns from. That is after a resume (a start that came
    // late) and after a rate change (VLC sends its value, 107-166 ms behind in e2e traces, within
    // ~1 s of our rate command). Later it is a seek, however small (a stale player's own
    // refreshes then come with no Seeked far off).
    const sinceChangeMs = Math.min(sinceMs(this.resumedAtMs, t.atMs), sinceMs(this.rateChangedAtMs, t.atMs))
    if (judged && this.seekedIsValue_ && t.playing && offMs < 0 && -offMs <= READ_JUMP_MS && sinceChangeMs <= MAX_STALE_MS) {
      const verdict = this.read(t, () => false)
      return verdict === 'user' ? 'user' : 'tracked'
    }
    // Unanchored by the resume too: the next read re-anchors the line.
    if (judged && !this.anchored && resumeRepeat) return 'tracked'
    if (judged && this.anchored && (Math.abs(offMs) <= SEEKED_JUMP_MS || staleRepeat || resumeRepeat)) {
      // A paused player whose Seeked is a landing (not a value) is exactly there: our pause-and-seek
      // moves it back by however far it played on (80 ms seen). Kept at the old spot, the line would
      // take the viewer's seek to just past that spot (within SEEKED_JUMP_MS of it) for no seek.
      if (!t.playing && this.line?.playing === false && !this.seekedIsValue_) {
        this.reset(t, false)
        return 'tracked'
      }
      // Consistent (Chromium sends Seeked on every state change): the envelope knows better.
      this.heldSinceMs = null
      this.confirmedAtMs = t.atMs
      return 'tracked'
    }
    const lagged = judged && this.withinReadLag(t, offMs)
    if (!judged || Math.abs(offMs) <= SEEKED_JUMP_MS || lagged) {
      this.reset(t, false)
      return judged && Math.abs(offMs) > SEEKED_JUMP_MS && explain() ? 'ours' : 'tracked'
    }
    this.resetAtJump(t, false)
    return explain() ? 'ours' : 'user'
  }

  /** Whether `t` shows the value the last read on a playing line showed (a stale player's repeat). */
  private repeatsLastRead (t: Timeline): boolean {
    const last = this.lastRead
    return last !== null && t.playing && this.line?.playing === true && Math.abs(t.positionMs - last.positionMs) <= EDGE_MIN_CHANGE_MS
  }

  private noteResume (atMs: number): void {
    this.resumedAtMs = atMs
    this.resumedFromMs = this.pausedReportMs
    this.resumeValueStale = this.resumedFromMs !== null
  }

  private noteReport (t: Timeline): void {
    this.pausedReportMs = t.playing ? null : t.positionMs
  }

  /** A read: once one shows the value moved on from where the player resumed, that value is no longer stale. */
  private noteReadValue (t: Timeline): void {
    this.noteReport(t)
    if (t.playing && this.resumedFromMs !== null && Math.abs(t.positionMs - this.resumedFromMs) > EDGE_MIN_CHANGE_MS) this.resumeValueStale = false
  }

  /**
   * Whether `t`, after a resume, shows what the player last reported while paused, behind the
   * estimate: VLC's Seeked after a resume carries that value, not refreshed yet. It comes ~0.2 s
   * after the resume, and later on a loaded machine (640 ms seen): so it is staleness within
   * RESUME_SEEKED_MS (a read may catch a refresh before the Seeked already on its way), and after
   * that for as long as no read has shown the value moving on, up to MAX_STALE_MS.
   */
  private repeatsResumePoint (t: Timeline, offMs: number): boolean {
    if (!t.playing || offMs >= 0 || this.resumedAtMs === null || this.resumedFromMs === null) return false
    if (Math.abs(t.positionMs - this.resumedFromMs) > RESUME_REPEAT_TOLERANCE_MS) return false
    const sinceResumeMs = t.atMs - this.resumedAtMs
    return sinceResumeMs <= RESUME_SEEKED_MS || (this.resumeValueStale && sinceResumeMs <= MAX_STALE_MS)
  }

  /** Whether `t` shows the target of the seek the playing line is anchored at (its late Seeked). */
  private repeatsJumpTarget (t: Timeline): boolean {
    return this.jumpTargetMs !== null && t.playing && this.line?.playing === true && Math.abs(t.positionMs - this.jumpTargetMs) <= EDGE_MIN_CHANGE_MS
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
    this.noteReadValue(t)
    const line = this.line
    if (line === null || (!this.anchored && this.band === null)) {
      this.reset(t)
      return 'tracked'
    }
    const halfRttMs = (t.rttMs ?? 0) / 2
    const residual = t.positionMs - predictMs(line, t.atMs + halfRttMs)
    const aheadMs = this.anchored ? residual - this.maxResidual() : this.outsideBandMs(t.positionMs, t.atMs + halfRttMs)
    // Right after a jump, too few reads for a spread: the granularity learnt before still holds.
    const stepMs = (this.anchored ? this.spread() ?? this.lastGranularityMs : this.lastGranularityMs) ?? 0
    const repeat = this.anchored && this.repeatsLastRead(t)
    if (this.anchored) this.noteEdge(residual, t)
    if (repeat && aheadMs <= SEEKED_JUMP_MS && this.heldSinceMs === null) {
      // The value the last read showed, again: a stale player that has not refreshed it, not a jump.
      // Unless that read is held for a Seeked: then it is the same jump seen again (our read before
      // a rate command, under load, read mpv's landing exactly as its push had shown it).
      this.accept(residual, t)
      return 'tracked'
    }
    if (aheadMs <= SEEKED_JUMP_MS && -aheadMs <= stepMs + SEEKED_JUMP_MS) {
      if (this.anchored) this.accept(residual, t)
      else this.reset(t)
      return 'tracked'
    }
    if (explain()) {
      this.resetAtJump(t, true)
      return 'ours'
    }
    const large = aheadMs > READ_JUMP_MS || -aheadMs > READ_JUMP_MS + stepMs
    if (large && !sendsSeeked) {
      this.resetAtJump(t, true)
      return 'user'
    }
    if (this.heldSinceMs === null) {
      this.heldSinceMs = t.atMs
      this.heldValueMs = t.positionMs
    }
    if (t.atMs - this.heldSinceMs < SEEKED_GRACE_MS) return 'held'
    if (large) {
      // A stale player still showing what the first held read showed: the jump was seen then, so
      // the line starts then (VLC repeats a seek's target until its next refresh, ~1 s).
      const stale = this.heldValueMs !== null && Math.abs(t.positionMs - this.heldValueMs) <= EDGE_MIN_CHANGE_MS
      this.resetAtJump(stale ? { ...t, atMs: this.heldSinceMs } : t, true)
      return 'user'
    }
    // Nothing explained it in time. Behind: a stale or coarse player, learn from it. Ahead: the
    // player is further on than we thought; the envelope cannot move down to it, so re-anchor.
    if (aheadMs > SEEKED_JUMP_MS || !this.anchored) this.reset(t)
    else this.accept(residual, t)
    return 'tracked'
  }

  private accept (residual: number, t: Read): void {
    const rttMs = t.rttMs
    this.heldSinceMs = null
    this.confirmedAtMs = t.atMs
    if (rttMs !== undefined && rttMs > MAX_PHASE_RTT_MS) return
    if (t.atMs < this.quietUntilMs) return
    this.residuals.push(residual)
    this.rtts.push(rttMs ?? 0)
    if (this.residuals.length > PHASE_WINDOW) {
      this.residuals.shift()
      this.rtts.shift()
    }
    this.forgetLostTime()
    const spread = this.spread()
    if (spread !== null && this.line?.playing === true) this.lastGranularityMs = spread
  }

  /**
   * A read whose value differs from the last one's is the first after a step edge: the edge lies
   * between the two reads, which bound the phase (see the account at the top). Every read on the
   * line counts as the last one, also one held back (a stale value is still the value it shows).
   * Kept while playing on the same line, for as many edges as reads are kept; a read that
   * re-anchors the line starts over from itself.
   */
  private noteEdge (residual: number, t: Read): void {
    const last = this.lastRead
    const line = this.line
    this.lastRead = { positionMs: t.positionMs, sampledFromMs: t.atMs - (t.rttMs ?? 0) / 2 }
    if (last === null || line === null || !line.playing || Math.abs(t.positionMs - last.positionMs) <= EDGE_MIN_CHANGE_MS) return
    if (this.lastEdgeValueMs !== null) {
      const stepMs = t.positionMs - this.lastEdgeValueMs
      if (stepMs > COARSE_STEP_MS) this.coarseStepMs = stepMs
    }
    this.lastEdgeValueMs = t.positionMs
    if (t.atMs - line.atMs < this.edgeSettleMs) return
    this.edgeLowers.push(residual)
    this.edgeUppers.push(t.positionMs - predictMs(line, last.sampledFromMs))
    if (this.edgeLowers.length > PHASE_WINDOW) {
      this.edgeLowers.shift()
      this.edgeUppers.shift()
    }
  }

  /**
   * Coarse players, once an edge was seen: the middle of what the edges leave of the phase. Others:
   * max(residual at reply time) + how far playback moves in a typical half round trip.
   */
  private envelope (): number {
    const line = this.line
    const coarse = this.coarseNow()
    const phase = coarse ? this.phaseBounds() : null
    if (phase !== null) return (phase.lowerMs + phase.upperMs) / 2
    // A seek's anchor moved back by its lead: the stale reads of the target until the first edge
    // lie above it by the lead, and would lift it back.
    if (this.seekLeadAppliedMs !== null) return 0
    const lagMs = line !== null && line.playing ? this.medianHalfRtt() * line.rate : 0
    // Edges seen but none fitted (edgeSettleMs): the left-out edge's read must not lift the anchor either.
    if (coarse && this.lastEdgeValueMs !== null) return lagMs
    return this.maxResidual() + lagMs
  }

  /**
   * The envelope moves up with any read, and reads behind it are taken for lag: so a player that
   * lost time (a stall) was estimated where it would have been, hidden from the engine until its
   * earlier reads left the window (PHASE_WINDOW: 16 s at 4 Hz; the network bed saw a player
   * 150-250 ms behind the others for 9-25 s with no correction). When the last LOSS_READS reads
   * all lie below the earlier ones' envelope by more than the player's granularity (the frame step:
   * their phase cannot explain it), the player is where the recent reads put it: the earlier ones
   * go. The granularity is the one learnt before this line (the reads on it may hold the loss;
   * mpv lost 400 ms within a second of a resume), else what the earlier reads on it spread, and at
   * least what the recent ones do. Fine players only: a coarse one is fitted from its edges.
   */
  private forgetLostTime (): void {
    const older = this.residuals.slice(0, -LOSS_READS)
    if (this.line?.playing !== true || older.length === 0) return
    const recent = this.residuals.slice(-LOSS_READS)
    const spreadOf = (xs: number[]): number => Math.max(...xs) - Math.min(...xs)
    const knownMs = this.lineGranularityMs ?? (older.length >= MIN_GRANULARITY_SAMPLES ? spreadOf(older) : 0)
    const granularityMs = Math.max(knownMs, spreadOf(recent))
    if (granularityMs > COARSE_STEP_MS) return
    if (Math.max(...older) - Math.max(...recent) <= granularityMs + LOSS_MARGIN_MS) return
    this.residuals = recent
    this.rtts = this.rtts.slice(-LOSS_READS)
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
