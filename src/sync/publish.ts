/**
 * Publishing our own actions: when an `event` may go out (bursts coalesced to one per
 * `eventMinIntervalMs`, the last always sent), when the leader re-announces (every
 * `announceIntervalMs`; an event counts as one), and when our own playing action is re-anchored
 * from the player's track (a rough estimate first, then the mature track, within REFINE_WINDOW_MS,
 * each time only if the timeline moves by REFINE_MIN_MS or more). Pure bookkeeping: the engine
 * builds and sends the messages.
 */
import { FITTED_TRUST_MS, REFINE_MIN_MS, REFINE_WINDOW_MS, ROUGH_REFINE_MAX_LAG_MS, type EngineConfig } from './config.js'
import { ROUGH_READINGS, type PlayerTrack } from './player-track.js'

export class Publisher {
  private lastEventSentMs = -Infinity
  private eventDeferred = false
  private lastAnnounceMs = -Infinity
  /** Until then, our own latest action may be re-anchored from the player's track... */
  private refineUntilMs = -Infinity
  /** ...from a rough estimate first, then from the mature track, then no more. */
  private refineStage: 'rough' | 'mature' | 'done' = 'done'
  /** Our own resume or seek on a player the layer fits itself, and the learnt shift it was published with (null: another action). */
  private fittedAction: { kind: 'play' | 'seek', shiftMs: number } | null = null

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
  ownAction (nowMs: number, playing: boolean, sharedStart: boolean, fitted: { kind: 'play' | 'seek', shiftMs: number } | null = null): void {
    this.refineUntilMs = playing ? nowMs + REFINE_WINDOW_MS : -Infinity
    this.refineStage = playing && !sharedStart ? 'rough' : 'done'
    this.fittedAction = fitted
  }

  /**
   * The fitted action being re-anchored, and the whole shift from its first reading that the
   * re-anchor to `toMs` (from `expectedMs`) shows: what to learn for the next such action.
   */
  shownShift (toMs: number, expectedMs: number): { kind: 'play' | 'seek', shiftMs: number } | null {
    const a = this.fittedAction
    return a === null ? null : { kind: a.kind, shiftMs: a.shiftMs + toMs - expectedMs }
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
    // A position the player layer fits itself is not re-anchored to roughly, nor before it is sure
    // of it: its early estimates scatter around the truth (FITTED_TRUST_MS). Decided at the action
    // too: a reading in between may come without a fit (bench:vlc: a rough re-anchor of VLC's own
    // resume moved the room 20-50 ms ahead, and its sure one back again, 3 s later).
    const fitted = track.fitted || this.fittedAction !== null
    if (fitted && (!track.fitted || track.uncertaintyMs > FITTED_TRUST_MS)) return null
    const matureMs = track.projectedMs(nowMs)
    const roughMs = this.refineStage === 'rough' && !fitted && track.size >= ROUGH_READINGS && track.freshReadingLagMs < ROUGH_REFINE_MAX_LAG_MS
      ? track.roughMs(nowMs)
      : null
    const estimateMs = matureMs ?? roughMs
    if (estimateMs === null || expectedMs === null) return null
    this.refineStage = matureMs === null ? 'mature' : 'done'
    if (Math.abs(estimateMs - expectedMs) < REFINE_MIN_MS) return null
    return estimateMs
  }

  /** When this part next needs a tick: a deferred event, the leader's next announce. */
  nextDueMs (leading: boolean): number | null {
    const due: number[] = []
    if (this.eventDeferred) due.push(this.lastEventSentMs + this.cfg.eventMinIntervalMs)
    if (leading) due.push(this.lastAnnounceMs + this.cfg.announceIntervalMs)
    return due.length === 0 ? null : Math.min(...due)
  }
}
