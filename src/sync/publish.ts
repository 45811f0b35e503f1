/**
 * Publishing our own actions: when an `event` may go out (bursts coalesced to one per
 * `eventMinIntervalMs`, the last always sent), when the leader re-announces (every
 * `announceIntervalMs`; an event counts as one), and when our own playing action is re-anchored
 * from the player's track (a rough estimate first, then the mature track, within REFINE_WINDOW_MS,
 * each time only if the timeline moves by REFINE_MIN_MS or more; a position the player layer fits
 * itself, by what is surely off as its fit narrows, then once sure: `refineFitted`). Pure
 * bookkeeping: the engine builds and sends the messages.
 */
import { FITTED_TRUST_MS, REFINE_MIN_MS, REFINE_WINDOW_MS, ROUGH_REFINE_MAX_LAG_MS, type EngineConfig } from './config.js'
import { ROUGH_READINGS, type PlayerTrack } from './player-track.js'

/** A viewer's own resume or seek on a player the layer fits itself, and its shift from the first reading (learnt: resumeShiftMs, seekShiftMs). */
export interface FittedShift { kind: 'play' | 'seek', shiftMs: number }

export class Publisher {
  private lastEventSentMs = -Infinity
  private eventDeferred = false
  private lastAnnounceMs = -Infinity
  /** Until then, our own latest action may be re-anchored from the player's track... */
  private refineUntilMs = -Infinity
  /** ...from a rough estimate first, then from the mature track, then no more. */
  private refineStage: 'rough' | 'mature' | 'done' = 'done'
  /**
   * Our own resume or seek on a player the layer fits itself: the learnt shift it was published
   * with, and how far its re-anchors have moved it since (null: another action).
   */
  private fittedAction: (FittedShift & { movedMs: number }) | null = null
  /** Where the fitted action, once its fit was sure, showed such an action lands; until taken. */
  private shown: FittedShift | null = null

  constructor (private readonly cfg: EngineConfig) {}

  /** Whether an event may go out now; if not, it is deferred to the end of the interval. */
  eventNowOrDefer (nowMs: number): boolean {
    if (nowMs - this.lastEventSentMs >= this.cfg.eventMinIntervalMs) return true
    this.eventDeferred = true
    return false
  }

  /** A deferred event is due (or none is). */
  eventDue (dueByMs: number): boolean {
    return this.eventDeferred && dueByMs >= this.lastEventSentMs + this.cfg.eventMinIntervalMs
  }

  /** No deferred event any more (it went out, or a newer state from someone else won). */
  clearDeferred (): void {
    this.eventDeferred = false
  }

  eventSent (nowMs: number): void {
    this.lastEventSentMs = nowMs
    this.lastAnnounceMs = nowMs // an event is as good as an announce
  }

  announceDue (dueByMs: number): boolean {
    return dueByMs >= this.lastAnnounceMs + this.cfg.announceIntervalMs
  }

  announceSent (nowMs: number): void {
    this.lastAnnounceMs = nowMs
  }

  /** Taking over someone else's timeline: announce at once. */
  announceAtOnce (): void {
    this.lastAnnounceMs = -Infinity
  }

  /**
   * Our user acted: a playing action is re-anchored from the track (unless it starts at a shared T).
   * `fitted`: a resume or seek on a player the layer fits itself, published with a learnt shift.
   */
  ownAction (nowMs: number, playing: boolean, sharedStart: boolean, fitted: FittedShift | null = null): void {
    this.refineUntilMs = playing ? nowMs + REFINE_WINDOW_MS : -Infinity
    this.refineStage = playing && !sharedStart ? 'rough' : 'done'
    this.fittedAction = fitted === null ? null : { ...fitted, movedMs: 0 }
    this.shown = null
  }

  /**
   * Once a fitted action's fit was sure: where it landed from its first reading (the shift it was
   * published with, its re-anchors, and what was left), to learn for the next such action. Once.
   */
  takeShownShift (): FittedShift | null {
    const shown = this.shown
    this.shown = null
    return shown
  }

  /** No more re-anchoring of the current state. */
  stopRefining (): void {
    this.refineStage = 'done'
  }

  /**
   * Where our own playing action should be re-anchored now, from the track, given where the
   * timeline says the player is (`expectedMs`); null when not now. `ours` says the current state is
   * our own playing one on our own clock: if not, re-anchoring ends.
   */
  refineTo (nowMs: number, ours: boolean, track: PlayerTrack, expectedMs: number | null): number | null {
    if (this.refineStage === 'done') return null
    if (nowMs > this.refineUntilMs || !ours) {
      this.refineStage = 'done'
      return null
    }
    // A position the player layer fits itself is never re-anchored to roughly (decided at the
    // action too: a reading in between may come without a fit; bench:vlc: a rough re-anchor of
    // VLC's own resume moved the room 20-50 ms ahead, and its sure one back, 3 s later).
    if (track.fitted || this.fittedAction !== null) return this.refineFitted(nowMs, track, expectedMs)
    const matureMs = track.projectedMs(nowMs)
    const roughMs = this.refineStage === 'rough' && track.size >= ROUGH_READINGS && track.freshReadingLagMs < ROUGH_REFINE_MAX_LAG_MS
      ? track.roughMs(nowMs)
      : null
    const estimateMs = matureMs ?? roughMs
    if (estimateMs === null || expectedMs === null) return null
    this.refineStage = matureMs === null ? 'mature' : 'done'
    if (Math.abs(estimateMs - expectedMs) < REFINE_MIN_MS) return null
    return estimateMs
  }

  /**
   * A fitted position's estimates scatter around the truth until the fit is sure: the timeline is
   * moved by what is surely off only (the error less the uncertainty: never past the truth), as
   * often as the fit narrows enough to show REFINE_MIN_MS more, and to the estimate once it is
   * within FITTED_TRUST_MS; then re-anchoring ends, and where the action landed is known.
   */
  private refineFitted (nowMs: number, track: PlayerTrack, expectedMs: number | null): number | null {
    const estimateMs = track.fitted ? track.projectedMs(nowMs) : null
    if (estimateMs === null || expectedMs === null) return null
    const offMs = estimateMs - expectedMs
    const a = this.fittedAction
    if (track.uncertaintyMs <= FITTED_TRUST_MS) {
      this.refineStage = 'done'
      if (a !== null) this.shown = { kind: a.kind, shiftMs: a.shiftMs + a.movedMs + offMs }
      return Math.abs(offMs) < REFINE_MIN_MS ? null : estimateMs
    }
    const movedMs = track.surelyOffMs(offMs)
    if (Math.abs(movedMs) < REFINE_MIN_MS) return null
    if (a !== null) a.movedMs += movedMs
    return expectedMs + movedMs
  }

  /** When this part next needs a tick: a deferred event, the leader's next announce. */
  nextDueMs (leading: boolean): number | null {
    const due: number[] = []
    if (this.eventDeferred) due.push(this.lastEventSentMs + this.cfg.eventMinIntervalMs)
    if (leading) due.push(this.lastAnnounceMs + this.cfg.announceIntervalMs)
    return due.length === 0 ? null : Math.min(...due)
  }
}
