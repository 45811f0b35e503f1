/**
 * Player control: brings the local player to the timeline and keeps it there. Pure: the time comes
 * in as an argument, commands go into the caller's action list. It reads the timeline through its
 * host (the engine) and never changes it.
 *
 * - Applying a state (`apply`): paused, one pause at exactly the state's position; playing and
 *   already in step, only the rate; otherwise a scheduled start.
 * - A scheduled start (`scheduleStart`): pause and seek to where the timeline will be at T = now +
 *   seek lead, read back the frame the seek landed on (`retimeStart`), and `play` when the timeline
 *   reaches that frame, less the learnt start latency (`runDue`). The start is checked on its first
 *   readings (`checkStart`: a clear miss is redone once), a smaller one mended by a move as soon as
 *   the readings show it (`mendStart`), and teaches the start latency when the track is mature.
 * - Drift (`correctDrift`, the one place a drift move or a corrective re-sync is decided): small
 *   errors are mended by a move, one rate change held for a computed time and then back, net of the
 *   position jump each rate change costs (learnt per player); large errors, or no Rate, by one
 *   re-sync with a cool-down, so it never loops.
 * - A player that stalls, or runs at another rate than commanded, is put back (`reading`).
 */
import { playerTimeMs } from './output-delay.js'
import {
  CLOCK_FOLLOW_MIN_MS, COARSE_READING_LAG_MS, COMMAND_SETTLE_MS, CORRECTION_COOLDOWN_MS, FITTED_TRUST_MS, IN_STEP_COARSE_MS, IN_STEP_MS,
  MAX_OWN_SHIFT_MS, OWN_SHIFT_GAIN,
  IN_STEP_NO_RATE_MS, FAR_START_REDOS, MAX_RATE_JUMP_MS, MAX_START_LATENCY_MS, MAX_START_LATENCY_STEP_MS, MIN_RATE_NUDGE,
  MIN_SEEK_LEAD_MS, MIN_SEEK_READS, MIN_START_LATENCY_MS, MOVE_END_LATE_MS, NUDGE_START_LAG_SHARE, PAUSED_TOLERANCE_MS,
  RATE_JUMP_GAIN, RATE_MISMATCH_MS, RATE_ROUNDING_SHARE, SEEK_LEAD_FACTOR, SEEK_LEAD_MARGIN_MS, SEEK_READ_WINDOW, STALL_MS,
  ROUGH_REFINE_MAX_LAG_MS, START_CHECK_READINGS, START_LATENCY_GAIN, START_MEND_MS, START_REDO_MS, START_SETTLE_MS, TIMER_SLACK_MS,
  type EngineConfig
} from './config.js'
import { PlayerTrack, ROUGH_READINGS } from './player-track.js'
import type { FittedShift } from './publish.js'
import type { Action, LearntPlayer, PlaybackState, PlayerAbilities, PlayerCommand, PlayerObservation } from './types.js'

/** What player control reads of the engine: the timeline, and the author's re-anchoring of its own action. */
export interface ControlHost {
  readonly state: PlaybackState | null
  /** Expected media position at local time `tMs`; null without a state or an offset to its clock. */
  expectedAt: (tMs: number, nowMs: number) => number | null
  /** Our offset to the clock the state is on; null when unknown. */
  clockOffsetMs: (nowMs: number) => number | null
  /** Re-anchors our own latest action from the track if it is time to; true if it did. */
  refineOwnState: (nowMs: number, out: Action[]) => boolean
  /** Brings the player to the state, media checks first (the engine's `syncPlayer`). */
  syncPlayer: (nowMs: number, out: Action[]) => void
}

export interface LocalPlayer {
  abilities: PlayerAbilities
  observed: PlayerObservation | null
  /** Rate we last commanded (or saw), to know what the player runs at. */
  rate: number
}

/** Abilities assumed for a player known only from a user action's reading: no rate control. */
export const NO_RATE: PlayerAbilities = { canSeek: true, canPause: true, rateMin: 1, rateMax: 1 }

/**
 * Drift is mended by moves: the rate is set to the state's x (1 + nudge) for as long as it takes,
 * then back, open loop, and judged afresh once the track is mature again. Each rate change costs a
 * player-specific jump (RATE_JUMP_MS), so a move is two changes at most, never a stream of them.
 */
interface Move {
  nudge: number
  untilMs: number
  /** What the rate itself is to move the player, media ms (the rest is the two jumps). */
  byRateMs: number
  /** The mature error it was planned against; null when planned from a re-anchored timeline. */
  fromErrorMs: number | null
  /**
   * The track keeps its readings through the move, shifted by the planned jumps, rather than
   * starting again at its end: for a player read only coarsely, and for one whose start is not
   * judged yet. Such a player follows a re-anchor by a move right after its start; started again,
   * its track judged the start's own miss only ~2 s after the move (real mpv under load: 50-80 ms
   * apart for 4-5 s after a resume, the author's re-anchor ~2 s in).
   */
  keepsTrack: boolean
}

/**
 * A start on its way: the player rests on `positionMs` and runs from the moment the timeline gets
 * there. That moment is worked out afresh at every step (startAtMs), so the start follows whatever
 * moves the timeline meanwhile: an offset still being learnt, a re-anchor, another clock.
 */
interface PendingStart {
  /** Where the seek was sent; once a paused reading shows where it landed, that. */
  positionMs: number
  /** When the pause and seek were issued: readings before that show the player as it was. */
  commandedAtMs: number
  /** A paused reading showed where the seek landed (else the latency cannot be judged from it). */
  landed: boolean
  /**
   * It lands a new speed (the player ran at another one): what it misses by is not the player's
   * start latency alone, so it teaches none (see `teaches`).
   */
  landsSpeed: boolean
}

export class PlayerControl {
  player: LocalPlayer | null = null
  /** The learnt `play` -> running latency of the local player. */
  startLatencyMs: number
  /** The learnt position jump per rate change of the local player. */
  rateJumpMs: number
  /** Where the viewer's own resume / seek on a player the layer fits itself really landed, learnt (see `ownShiftMs`). */
  private readonly ownShiftsMs = { play: 0, seek: 0 }
  pendingStart: PendingStart | null = null
  /** After a scheduled start: readings from this local time on are checked (null: not checking). */
  private startCheckFromMs: number | null = null
  private startCheckReadings = 0
  /** Set after a scheduled start until the first mature drift estimate teaches us the start latency... */
  learningStart = false
  /**
   * ...if it can (`teaches`): we saw where its seek landed (otherwise the frame it landed on is
   * part of the miss), and it landed no new speed.
   */
  private startTeaches = false
  /**
   * After the start check: the start's miss is judged once more when the track has ROUGH_READINGS
   * (`mendStart`), and a clear one mended by a move...
   */
  private startMendPending = false
  /**
   * ...which moved the player this far (media ms): the mature track sees the start's miss less
   * this, and learns the start latency from the miss as it was.
   */
  private startMendMs = 0
  /** The current state's start was already redone once for a latency miss (never loop). */
  private startRedone = false
  /**
   * A start played before its seek's landing was read: the landing, read after the `play` went
   * out (the play queued behind the seek), says exactly how far ahead of the timeline it will run.
   */
  private unlandedStart: PendingStart | null = null
  /** Starts redone in a row for missing by more than a latency (at most FAR_START_REDOS). */
  private farRedos = 0
  move: Move | null = null
  /** After a measured move: the next mature error shows what its rate changes really cost. */
  private jumpCheck: { fromErrorMs: number, byRateMs: number } | null = null
  settleUntilMs = -Infinity
  private nextCorrectionMs = -Infinity
  stallSinceMs: number | null = null
  /** What the stall since `stallSinceMs` is: the player plays when it should not (or the reverse), or rests on another frame. */
  private stallKind: 'status' | 'position' = 'status'
  private rateMismatchSinceMs: number | null = null
  /** When we last commanded a rate (a command still landing may undo a change of the viewer's: RATE_RACE_MS). */
  lastRateCommandAtMs = -Infinity
  /** Our last play or pause, and when (it may land after a viewer's action read since: COMMAND_RACE_MS). */
  lastPlayingCommand: { playing: boolean, atMs: number } | null = null
  readonly track = new PlayerTrack()
  /** How far the timeline moved here with offsets learnt better since the player last followed (clockMoved). */
  private clockMovedMs = 0
  /**
   * Since a start, until the first mature drift estimate: only then does the clock's move matter
   * here (later, drift moves mend whatever the offset's wander does, as they always have).
   */
  private startUnjudged = false
  /**
   * The player was judged in step with the state by a rough estimate (a young track), not put on
   * it by a start: it may be tens of ms off (see `followReanchor`).
   */
  private judgedRoughly = false
  /** The last judged error of the player against the timeline (for status). */
  lastErrorMs: number | null = null
  /**
   * The room's speed changed: the next `apply` lands it by a scheduled start, even when the player
   * looks in step (see `apply`).
   */
  private speedChanged = false
  /**
   * Until then a speed change (our viewer's, or one we commanded) is still taking effect: its old
   * rate runs on. A new state then is landed by a start too: the player is not where it looks.
   */
  private speedSettlesAtMs = -Infinity
  /**
   * How long the last starts' pause-and-seeks took to be read where they landed, oldest first
   * (at most SEEK_READ_WINDOW); a start that played before its landing was read counts as the
   * configured lead (the most the lead is learnt up to).
   */
  private readonly seekReadsMs: number[] = []
  /**
   * The lead learnt for this kind of player before (a restarted daemon): used until this process
   * has read MIN_SEEK_READS landings of its own; null: the configured lead.
   */
  private priorSeekLeadMs: number | null = null

  constructor (private readonly cfg: EngineConfig, private readonly host: ControlHost) {
    this.startLatencyMs = cfg.startLatencyMs
    this.rateJumpMs = cfg.rateJumpMs
  }

  /**
   * A player attached; `learnt`, what was learnt of its kind before (or, before anything was, what
   * is known of that kind: its priors), is where learning starts from; a value left out, or no
   * record at all, goes on from what was learnt so far in this process.
   */
  attached (abilities: PlayerAbilities, observed: PlayerObservation, nowMs: number, learnt?: Partial<LearntPlayer>): void {
    if (learnt !== undefined) this.teach(learnt)
    this.player = { abilities, observed, rate: observed.rate }
    this.resetTrack(nowMs)
    this.pendingStart = null
  }

  /**
   * How long before `play` a scheduled start pauses and seeks: time for the seek to land and be
   * read back (the start is timed from the frame it landed on). The configured lead until a start
   * has been measured (or the lead learnt for this kind of player before); then the slowest of the
   * recent ones plus a margin, within the configured.
   */
  get seekLeadMs (): number {
    const minMs = Math.min(MIN_SEEK_LEAD_MS, this.cfg.seekLeadMs)
    if (this.seekReadsMs.length < MIN_SEEK_READS) return this.priorSeekLeadMs === null ? this.cfg.seekLeadMs : clamp(this.priorSeekLeadMs, minMs, this.cfg.seekLeadMs)
    return clamp(SEEK_LEAD_FACTOR * Math.max(...this.seekReadsMs) + SEEK_LEAD_MARGIN_MS, minMs, this.cfg.seekLeadMs)
  }

  private noteSeekRead (ms: number): void {
    this.seekReadsMs.push(ms)
    if (this.seekReadsMs.length > SEEK_READ_WINDOW) this.seekReadsMs.shift()
  }

  /** What was learnt of the local player so far. */
  get learnt (): LearntPlayer {
    return { startLatencyMs: this.startLatencyMs, rateJumpMs: this.rateJumpMs, ...this.track.learnt, seekLeadMs: this.seekLeadMs, resumeShiftMs: this.ownShiftsMs.play, seekShiftMs: this.ownShiftsMs.seek }
  }

  /**
   * How far from its first reading the viewer's own resume or seek (a playing one) is to be
   * published, beyond that reading's usual lag: what sure fits of this player showed after such
   * actions before. Only for a position the player layer fits itself (VLC): its first reading after
   * a resume is its exact paused value, after a seek its target less a lead, each off the truth its
   * own way; a reading that only lags (mpv) is covered by the fresh-reading lag alone.
   */
  ownShiftMs (kind: FittedShift['kind']): number {
    return this.ownShiftsMs[kind]
  }

  /** A sure fit put the player `shiftMs` off where its viewer's own `kind` of action was published (`ownShiftMs`). */
  learnOwnShift (kind: FittedShift['kind'], shiftMs: number): void {
    const learnt = this.ownShiftsMs[kind] + (shiftMs - this.ownShiftsMs[kind]) * OWN_SHIFT_GAIN
    this.ownShiftsMs[kind] = clamp(learnt, -MAX_OWN_SHIFT_MS, MAX_OWN_SHIFT_MS)
  }

  private teach (l: Partial<LearntPlayer>): void {
    this.startLatencyMs = l.startLatencyMs ?? this.startLatencyMs
    this.rateJumpMs = l.rateJumpMs ?? this.rateJumpMs
    this.priorSeekLeadMs = l.seekLeadMs ?? this.priorSeekLeadMs
    this.ownShiftsMs.play = l.resumeShiftMs ?? this.ownShiftsMs.play
    this.ownShiftsMs.seek = l.seekShiftMs ?? this.ownShiftsMs.seek
    this.track.teach(l)
  }

  detached (nowMs: number): void {
    this.player = null
    this.pendingStart = null
    this.resetTrack(nowMs)
  }

  /**
   * A new state took over: what was tied to the old timeline goes (a start is judged against the
   * timeline it was made for).
   */
  forgetStartChecks (): void {
    this.speedChanged = false
    this.startRedone = false
    this.farRedos = 0
    this.startCheckFromMs = null
    this.unlandedStart = null
    this.learningStart = false
    this.startMendPending = false
    this.startMendMs = 0
  }

  /**
   * Brings the player (known, showing the state's media) to the state: at once when paused, by a
   * scheduled start when playing. False when the state is playing on a clock we have no offset to
   * (the rate is followed meanwhile).
   */
  apply (nowMs: number, out: Action[]): boolean {
    const s = this.host.state
    const p = this.player
    if (s === null || p === null || p.observed === null) return true
    // A player at another speed than the room's (not a move around it: a node back from a restart
    // into a room whose speed changed meanwhile) lands it by a start as well.
    const landSpeed = s.playing && (this.offSpeed(p.rate, s.rate) || this.speedChanged || nowMs < this.speedSettlesAtMs)
    this.pendingStart = null
    this.stallSinceMs = null
    this.judgedRoughly = false
    const obs = p.observed

    if (!s.playing) {
      this.resetTrack(nowMs)
      // Always pause: the last reading may predate a `play` of ours still landing (pausing a paused
      // player is a no-op, and mpv does not even signal it). The pause seeks there too.
      if (p.abilities.canPause) this.command({ op: 'pause', positionMs: s.positionMs }, nowMs, out)
      else if (p.abilities.canSeek && (obs.playing || obs.positionMs !== s.positionMs)) this.command({ op: 'seek', positionMs: s.positionMs }, nowMs, out)
      this.setBaseRate(nowMs, out)
      this.settleUntilMs = nowMs + COMMAND_SETTLE_MS
      return true
    }

    const expectedNow = this.host.expectedAt(nowMs, nowMs)
    if (expectedNow === null) {
      this.setBaseRate(nowMs, out)
      return false
    }
    if (landSpeed) {
      // A new speed lands like a resume: one start on the new timeline. Only setting the rate left
      // a player anywhere within IN_STEP_MS of it (the old rate runs on ~0.3 s from when each
      // player heard of the change, and a young track judges to tens of ms), mended by moves over
      // seconds: in the simulator 30-50 ms apart 2-5 s after 0.75 <-> 1.5x, on real mpv 31-66 ms.
      this.speedChanged = false
      this.scheduleStart(nowMs, out, true)
      return true
    }
    if (obs.playing) {
      // The track survives a new state: if it is mature, it knows where the player really is.
      const projectedMs = this.track.projectedMs(nowMs)
      const roughMs = this.track.roughMs(nowMs) ?? obs.positionMs + (this.track.freshReadingLagMs + nowMs - obs.atMs) * obs.rate
      // At another rate, judged where the player will be once the state's rate has taken effect
      // (it goes on at its rate till then): where a change made now leaves it.
      const changeMs = s.rate === p.rate ? 0 : this.rateTakesEffectMs()
      const expectedThen = changeMs === 0 ? expectedNow : this.host.expectedAt(nowMs + changeMs, nowMs) ?? expectedNow
      const errMs = (projectedMs ?? roughMs) + changeMs * p.rate - expectedThen
      const inStepMs = projectedMs === null ? IN_STEP_COARSE_MS : this.canNudge() ? IN_STEP_MS : IN_STEP_NO_RATE_MS
      if (Math.abs(errMs) <= inStepMs) {
        this.setBaseRate(nowMs, out)
        this.judgedRoughly = projectedMs === null
        return true
      }
    }
    this.scheduleStart(nowMs, out)
    return true
  }

  /** The room's speed changed (someone else's action): the player lands it by a start (`apply`). */
  speedChangedElsewhere (): void {
    this.speedChanged = true
  }

  /**
   * Our viewer changed the speed; the old rate runs on until `settlesAtMs`. A state that wins
   * meanwhile (a concurrent action) is landed by a start: judged in step, the player was left
   * where the run-on took it (30 ms off, then 60-80 ms as re-anchors were followed open loop).
   */
  ownSpeedChanged (settlesAtMs: number): void {
    this.speedSettlesAtMs = settlesAtMs
  }

  /** A rate another speed than `roomRate`, not a move around it (a move nudges by at most maxRateNudge). */
  private offSpeed (rate: number, roomRate: number): boolean {
    const p = this.player
    return p !== null && p.abilities.rateMax > p.abilities.rateMin && Math.abs(rate - roomRate) > roomRate * (this.cfg.maxRateNudge + RATE_ROUNDING_SHARE)
  }

  /**
   * The timeline was re-anchored by `deltaMs` (its author found its player elsewhere): a pending
   * start follows by itself; a playing player is moved along, open loop (right after a start the
   * track is too young to steer by); too far for that, a re-start. A player only judged in step
   * by a rough estimate was never put on the timeline: moved along open loop, it kept whatever it
   * was off by (35-62 ms apart 3 s after such a state in the simulator, the track restarted by the
   * move and not yet mature). It is judged again from the readings since, as a start is checked.
   */
  followReanchor (deltaMs: number, nowMs: number, out: Action[]): void {
    if (this.pendingStart !== null) return // it follows the timeline by itself
    const p = this.player
    if (p === null || p.observed?.playing !== true) return
    if (this.judgedRoughly && this.move === null && this.track.size >= START_CHECK_READINGS) return this.rejudge(nowMs, out)
    const canNudge = this.canNudge()
    if (Math.abs(deltaMs) > (canNudge ? IN_STEP_MS : IN_STEP_NO_RATE_MS)) return this.scheduleStart(nowMs, out)
    // A player that stays where it was is now off by the move too: its start is judged less that
    // (as a move's part is: startMendMs). Given up instead, a follower that cannot be moved (VLC)
    // learnt nothing from a start the author re-anchored, and authors re-anchor their plays
    // within half a second.
    if (!canNudge) this.startMendMs -= deltaMs
    else this.startMove(deltaMs, null, nowMs, out)
  }

  /** Where the player is against the timeline, from the readings so far: a move for what it is off by, a re-start beyond IN_STEP_MS. */
  private rejudge (nowMs: number, out: Action[]): void {
    this.judgedRoughly = false
    const roughMs = this.track.projectedMs(nowMs) ?? this.track.roughMs(nowMs)
    const expectedMs = this.host.expectedAt(nowMs, nowMs)
    if (roughMs === null || expectedMs === null) return
    const errMs = roughMs - expectedMs
    if (Math.abs(errMs) > IN_STEP_MS) return this.scheduleStart(nowMs, out)
    if (Math.abs(errMs) < Math.max(this.cfg.nudgeStartMs, this.track.readingLagMs * NUDGE_START_LAG_SHARE)) return
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'rate', errorMs: errMs } })
    this.startMove(-errMs, null, nowMs, out)
  }

  /**
   * The timeline moved `deltaMs` here because the offset to its clock was learnt better. Right
   * after a start (until the track is mature and drift moves take over) the player follows, as it
   * follows a re-anchor, once the steps add up to CLOCK_FOLLOW_MIN_MS. A pending start follows by
   * itself; a paused player has nothing to follow.
   */
  clockMoved (deltaMs: number, nowMs: number, out: Action[]): void {
    if (!this.startUnjudged || this.pendingStart !== null || this.player?.observed?.playing !== true) {
      this.clockMovedMs = 0
      return
    }
    this.clockMovedMs += deltaMs
    // A player known to tens of ms only (stale readings) is not moved by less than a drift move would be.
    if (Math.abs(this.clockMovedMs) < Math.max(CLOCK_FOLLOW_MIN_MS, this.track.readingLagMs * NUDGE_START_LAG_SHARE)) return
    const movedMs = this.clockMovedMs
    this.clockMovedMs = 0
    this.followReanchor(movedMs, nowMs, out)
  }

  /** A reading of the player while the state applies to it (no media change, nothing left to sync). */
  reading (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    const s = this.host.state
    if (s === null) return
    if (this.pendingStart !== null) return this.retimeStart(this.pendingStart, obs)
    if (this.unlandedStart !== null) {
      if (!obs.playing) return this.landedLate(this.unlandedStart, obs, nowMs, out)
      this.unlandedStart = null
    }
    if (this.startCheckFromMs !== null && s.playing && obs.playing) return this.checkStart(obs, nowMs, out)
    if (nowMs < this.settleUntilMs) {
      // Too early to judge, not to learn: a playing player's readings start its track.
      if (s.playing && obs.playing) {
        this.track.add(obs.atMs, obs.positionMs, obs.uncertaintyMs)
        if (this.mendStart(nowMs, out)) return
        this.host.refineOwnState(nowMs, out)
      }
      return
    }

    const pausedElsewhere = !s.playing && !obs.playing && Math.abs(obs.positionMs - s.positionMs) > PAUSED_TOLERANCE_MS
    if (obs.playing !== s.playing || pausedElsewhere) {
      // Not the user (that would be a `user` input): the player stalled, ended, ignored us, or a
      // command of ours landed after a user action it raced with. Each kind of mismatch is timed
      // from when it was first seen: a paused player on another frame that then plays is the
      // viewer pressing play, whose `user` input follows this reading by a read's round trip;
      // timed from the earlier mismatch, it was re-paused at once.
      const kind = obs.playing !== s.playing ? 'status' : 'position'
      if (this.stallSinceMs === null || this.stallKind !== kind) {
        this.stallSinceMs = nowMs
        this.stallKind = kind
      }
      if (nowMs - this.stallSinceMs >= STALL_MS && nowMs >= this.nextCorrectionMs) {
        this.nextCorrectionMs = nowMs + CORRECTION_COOLDOWN_MS
        out.push({ type: 'notice', notice: { kind: 'correction', how: 'seek', errorMs: 0 } })
        this.host.syncPlayer(nowMs, out)
      }
      return
    }
    this.stallSinceMs = null
    if (s.playing) {
      this.reconcileRate(obs, nowMs, out)
      this.correctDrift(obs, nowMs, out)
    }
  }

  /** Timers due at `tickMs` (`dueByMs` with the slack): the `play` of a pending start, the end of a move. */
  runDue (tickMs: number, dueByMs: number, out: Action[]): void {
    const start = this.pendingStart
    const playAtMs = start === null ? null : this.playAtMs(start, tickMs)
    if (start !== null && playAtMs !== null && dueByMs >= playAtMs) {
      const startAtMs = playAtMs + this.startLatencyMs
      this.pendingStart = null
      // Played before its landing was read: the lead was too short for this player or this load.
      // A lead remembered from before is too short here and now: dropped at once.
      if (!start.landed) {
        this.noteSeekRead(this.cfg.seekLeadMs)
        this.priorSeekLeadMs = null
      }
      this.command({ op: 'play' }, tickMs, out)
      this.startUnjudged = true
      this.clockMovedMs = 0
      this.settleUntilMs = startAtMs + START_SETTLE_MS
      this.startCheckFromMs = Math.max(tickMs, startAtMs)
      this.startCheckReadings = 0
      this.learningStart = false
      this.startMendPending = false
      this.startMendMs = 0
      this.startTeaches = teaches(start)
      this.unlandedStart = start.landed ? null : start
      this.resetTrack(tickMs)
      this.track.resetAfterPlay(tickMs, this.player?.rate ?? 1)
    }
    if (this.move !== null && dueByMs >= this.move.untilMs) this.endMove(tickMs, out)
  }

  /** When this part next needs a tick: the `play` of a pending start, the end of a move. */
  nextDueMs (nowMs: number): number | null {
    const due: number[] = []
    const playAtMs = this.pendingStart === null ? null : this.playAtMs(this.pendingStart, nowMs)
    if (playAtMs !== null) due.push(playAtMs)
    if (this.move !== null) due.push(this.move.untilMs)
    return due.length === 0 ? null : Math.min(...due)
  }

  /**
   * Moves a playing player `deltaMs` along its media by one rate change held for as long as it
   * takes (about NUDGE_TIME_CONSTANT_MS, within ±MAX_RATE_NUDGE), net of the jumps that the change
   * and the change back cost. A move already under way is folded in.
   */
  private startMove (deltaMs: number, fromErrorMs: number | null, nowMs: number, out: Action[]): void {
    const s = this.host.state
    if (s === null || !this.canNudge()) return
    const current = this.move
    // What is left of a move under way; its change back is not made, so one jump less to plan for.
    const pendingMs = current === null ? 0 : Math.max(0, current.untilMs - nowMs) * s.rate * current.nudge + this.rateJumpMs
    const totalMs = pendingMs + deltaMs
    if (Math.abs(totalMs) < this.cfg.nudgeStopMs) {
      if (current !== null) this.endMove(nowMs, out)
      return
    }
    const byRateMs = totalMs - (current === null ? 2 : 1) * this.rateJumpMs
    const nudge = (byRateMs < 0 ? -1 : 1) * clamp(Math.abs(byRateMs) / this.cfg.nudgeTimeConstantMs, MIN_RATE_NUDGE, this.cfg.maxRateNudge)
    const keepsTrack = current === null ? this.coarse() || this.startUnjudged : current.keepsTrack
    this.move = { nudge, untilMs: nowMs + Math.abs(byRateMs) / (s.rate * Math.abs(nudge)), byRateMs, fromErrorMs: current === null ? fromErrorMs : null, keepsTrack }
    this.jumpCheck = null
    this.setNudge(nudge, nowMs, out)
    if (keepsTrack) this.track.shift(this.rateJumpMs)
  }

  private coarse (): boolean {
    return this.track.readingLagMs > COARSE_READING_LAG_MS
  }

  /** Back to the state's rate. The jumps make older readings say nothing of where it is now. */
  private endMove (nowMs: number, out: Action[]): void {
    const move = this.move
    const nudgedRate = this.player?.rate ?? 1
    // Ended late (the daemon was frozen or starved): the nudged rate ran on meanwhile.
    const lateMs = move === null ? 0 : Math.max(0, nowMs - move.untilMs)
    const overshotMs = move === null ? 0 : lateMs * (this.host.state?.rate ?? 1) * move.nudge
    this.setBaseRate(nowMs, out)
    if (move?.keepsTrack ?? this.coarse()) this.track.shift(this.rateJumpMs)
    else {
      // The nudged rate goes on until the change back takes effect.
      this.track.reset(nowMs, nudgedRate, false)
      this.track.setRate(this.player?.rate ?? 1, nowMs, this.rateTakesEffectMs())
      this.lastErrorMs = null
      if (move?.fromErrorMs != null && lateMs <= MOVE_END_LATE_MS) this.jumpCheck = { fromErrorMs: move.fromErrorMs, byRateMs: move.byRateMs + overshotMs }
    }
    if (lateMs > MOVE_END_LATE_MS) this.mendOvershoot(overshotMs, nowMs, out)
  }

  /**
   * A move ended late and took the player `overshotMs` too far: known without a reading (the
   * track, started again, needs seconds to judge), so it is mended at once, open loop, as a
   * re-anchor is followed: a move back, or a re-sync when that move would be too long.
   */
  private mendOvershoot (overshotMs: number, nowMs: number, out: Action[]): void {
    if (Math.abs(overshotMs) < this.cfg.nudgeStartMs) return
    this.lastErrorMs = overshotMs
    if (Math.abs(overshotMs) >= this.resyncFromMs() && nowMs >= this.nextCorrectionMs) return this.resync(overshotMs, nowMs, out)
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'rate', errorMs: overshotMs } })
    this.startMove(-overshotMs, null, nowMs, out)
  }

  /**
   * From this error on, a re-sync rather than a move (cool-down permitting): when a move at the
   * largest nudge would take longer than `maxMoveMs`. Not for a player whose readings are stale
   * (VLC): known to tens of ms only, it would be re-synced on noise; it keeps `seekCorrectionMs`.
   */
  private resyncFromMs (): number {
    const rate = this.host.state?.rate ?? 1
    if (this.coarse()) return this.cfg.seekCorrectionMs
    return Math.min(this.cfg.seekCorrectionMs, this.cfg.maxRateNudge * rate * this.cfg.maxMoveMs)
  }

  /** One corrective re-sync (a scheduled start) for an error of `errMs`; the cool-down starts. */
  private resync (errMs: number, nowMs: number, out: Action[]): void {
    this.nextCorrectionMs = nowMs + CORRECTION_COOLDOWN_MS
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'seek', errorMs: errMs } })
    this.scheduleStart(nowMs, out)
  }

  /**
   * Pause, seek to where the timeline will be at T, `play` at T - start latency, one seek lead
   * from now. A player that jumps ahead as it resumes (mpv: a frame, latency -40 ms) rests that
   * much behind where it will run from, so T itself may be before the `play`; only a timeline
   * that has not begun yet (a shared start ahead) is waited for.
   */
  scheduleStart (nowMs: number, out: Action[], landsSpeed = false): void {
    const s = this.host.state
    const p = this.player
    if (s === null || p === null) return
    const off = this.host.clockOffsetMs(nowMs)
    if (off === null) return
    const startAtMs = Math.max(nowMs + this.seekLeadMs + this.startLatencyMs, playerTimeMs(s.atMs - off, this.cfg.outputDelayMs))
    const positionMs = Math.max(0, this.host.expectedAt(startAtMs, nowMs) ?? s.positionMs)
    // The pause seeks there too (one SetPosition: see PlayerCommand).
    if (p.abilities.canPause) this.command({ op: 'pause', positionMs }, nowMs, out)
    else if (p.abilities.canSeek) this.command({ op: 'seek', positionMs }, nowMs, out)
    this.setBaseRate(nowMs, out)
    // The player rests until `play`: no old rate runs on from there.
    this.speedSettlesAtMs = -Infinity
    this.pendingStart = { positionMs, commandedAtMs: nowMs, landed: false, landsSpeed }
    this.unlandedStart = null
    this.clockMovedMs = 0
    this.startCheckFromMs = null
    this.learningStart = false
    this.startMendPending = false
    this.startMendMs = 0
    this.resetTrack(nowMs)
  }

  /**
   * A paused reading while a start is pending shows where the seek landed: players land on a frame
   * (mpv: the first at or after the target, up to 40 ms on at 25 fps), so the start is moved to
   * when the timeline passes that frame. The start latency is then the player's alone, not the
   * seek's: mpv resumes one frame ahead of the frame it rests on, to within ~2 ms.
   */
  private retimeStart (start: PendingStart, obs: PlayerObservation): void {
    const s = this.host.state
    // Mid-seek the player shows the target: taken for the landing, it put starts up to a frame
    // ahead, and the latency learnt from such a start put the next one as far behind.
    if (s === null || obs.playing || obs.seeking === true || obs.atMs <= start.commandedAtMs) return
    const landedMs = obs.positionMs
    // Further off is not this seek (it has not landed yet, or the player ignored it).
    if (Math.abs(landedMs - start.positionMs) > PAUSED_TOLERANCE_MS) return
    if (!start.landed) this.noteSeekRead(obs.atMs - start.commandedAtMs)
    start.positionMs = landedMs
    start.landed = true
  }

  /** Local time at which the timeline reaches where the pending start rests; null without an offset. */
  private startAtMs (start: PendingStart, nowMs: number): number | null {
    const s = this.host.state
    if (s === null) return null
    if (!s.playing) return nowMs
    const off = this.host.clockOffsetMs(nowMs)
    if (off === null) return null
    return playerTimeMs(s.atMs - off + Math.max(0, start.positionMs - s.positionMs) / s.rate, this.cfg.outputDelayMs)
  }

  /** Local time to send `play`: the start latency before the timeline gets there. */
  private playAtMs (start: PendingStart, nowMs: number): number | null {
    const startAtMs = this.startAtMs(start, nowMs)
    return startAtMs === null ? null : startAtMs - this.startLatencyMs
  }

  /**
   * The seek of a start already played lands (read paused, the play still queued behind it):
   * players land on the frame at or after the target (mpv: up to 40 ms on), and the start was
   * timed from the target, so the player will run that far ahead. Beyond what the start check
   * re-starts for at once (START_REDO_MS), the start is redone now: two readings on, the check
   * judged a frame ahead within the reading lags and left it to the track for seconds.
   */
  private landedLate (start: PendingStart, obs: PlayerObservation, nowMs: number, out: Action[]): void {
    if (obs.seeking === true || obs.atMs <= start.commandedAtMs) return
    this.unlandedStart = null
    const aheadMs = obs.positionMs - start.positionMs
    if (Math.abs(aheadMs) > PAUSED_TOLERANCE_MS || aheadMs <= START_REDO_MS || this.startRedone) return
    this.startRedone = true
    this.lastErrorMs = aheadMs
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'restart', errorMs: aheadMs } })
    this.scheduleStart(nowMs, out)
  }

  /**
   * Right after a scheduled start: how far the player landed from the timeline, judged roughly from
   * the first few readings. A clear miss means `play` took effect much sooner or later than we
   * allowed (a player unlike mpv, still on the default guess; one that ignored the seek): learn
   * from it and redo the start once, at once. A smaller miss is mended by a move (`mendStart`);
   * the latency is learnt from the mature track.
   */
  private checkStart (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    const fromMs = this.startCheckFromMs
    if (fromMs === null) return
    if (obs.atMs < fromMs) return // the player is not meant to be on the timeline yet
    this.track.add(obs.atMs, obs.positionMs, obs.uncertaintyMs)
    if (++this.startCheckReadings < START_CHECK_READINGS) return
    this.startCheckFromMs = null
    const roughMs = this.track.roughMs(nowMs)
    const expectedMs = this.host.expectedAt(nowMs, nowMs)
    if (roughMs === null || expectedMs === null) return
    const errMs = roughMs - expectedMs
    // What two readings cannot tell apart: up to two lags (a frame for mpv, a refresh for a stale player).
    const missMs = START_REDO_MS + 2 * Math.max(this.track.freshReadingLagMs, this.track.readingLagMs)
    // Further off than a latency could be wrong by, the player is not where we put it (a seek that
    // failed or landed late under load; a seek of the user's the player layer did not report):
    // redo, learning nothing, even after a redo (a few times in a row: never a loop).
    const far = Math.abs(errMs) > MAX_START_LATENCY_STEP_MS
    const redo = Math.abs(errMs) > missMs && Math.abs(errMs) < this.cfg.seekCorrectionMs && (far ? this.farRedos < FAR_START_REDOS : !this.startRedone)
    if (!redo) {
      if (!far) this.farRedos = 0
      this.learningStart = this.startTeaches
      this.startMendPending = true
      // Clear even from two readings: the move starts now (mpv's new rate takes effect ~0.3 s
      // later, and 5 % moves 50 ms a second); the rough estimate judges what it leaves.
      if (!far && Math.abs(errMs) > START_MEND_MS + Math.max(this.track.freshReadingLagMs, this.track.readingLagMs)) this.mendMiss(errMs, nowMs, out)
      return
    }
    if (far) this.farRedos++
    else {
      // A start whose landing was not read was timed from the seek's target, and the seek may have
      // landed after the play (a busy machine): its miss is the seek's, not the latency's. Learnt
      // from, it put mpv's latency at +18 ms and every later start of that viewer ~58 ms ahead.
      if (this.startTeaches) this.learnStartLatency(errMs)
      this.startRedone = true
    }
    this.lastErrorMs = errMs
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'restart', errorMs: errMs } })
    this.scheduleStart(nowMs, out)
  }

  /**
   * A start's miss judged again from the track's rough estimate (ROUGH_READINGS, ~0.5 s in): one
   * within what two readings could not tell apart at the start check, but clear from five
   * (START_MEND_MS), is mended at once by a move, not ~2 s later by the mature track; beyond what
   * a move should do (resyncFromMs), the start is redone, once. Only for a player whose readings
   * are fresh (not VLC's stale values: their rough estimate is off by hundreds of ms), and not
   * while a move is under way (a re-anchor followed): judged after it. The move keeps the track
   * (`startUnjudged`), so the mature track still learns the start latency, from its miss less
   * what the move mended (`startMendMs`). True when it acted.
   */
  private mendStart (nowMs: number, out: Action[]): boolean {
    if (!this.startMendPending || this.move !== null || this.track.size < ROUGH_READINGS) return false
    this.startMendPending = false
    // Judged where a rate change still taking effect leaves the player (as a drift is).
    const judgeAtMs = Math.max(nowMs, this.track.rateSettledAtMs)
    const roughMs = this.track.roughMs(judgeAtMs)
    const expectedMs = this.host.expectedAt(judgeAtMs, nowMs)
    if (roughMs === null || expectedMs === null) return false
    const errMs = roughMs - expectedMs
    if (Math.abs(errMs) <= Math.max(START_MEND_MS, this.track.readingLagMs * NUDGE_START_LAG_SHARE)) return false
    return this.mendMiss(errMs, nowMs, out)
  }

  /** A start missed by `errMs`: a move, or beyond what a move should do a re-start (once). True when it acted. */
  private mendMiss (errMs: number, nowMs: number, out: Action[]): boolean {
    // Readings that spread as far as stale ones do (or a single one: the track started again on a
    // jump) tell a miss of tens of ms from nothing, even before the player's lag is learnt
    // (vlc-like-wan in the simulator: without this gate, an action timed out in seeds 2-4).
    const lagMs = Math.max(this.track.freshReadingLagMs, this.track.youngSpreadMs)
    if (this.track.size < START_CHECK_READINGS || this.track.mature() || !this.canNudge() || this.coarse() || lagMs >= ROUGH_REFINE_MAX_LAG_MS) return false
    this.lastErrorMs = errMs
    if (Math.abs(errMs) >= this.resyncFromMs()) {
      if (this.startRedone) return false
      this.startRedone = true
      out.push({ type: 'notice', notice: { kind: 'correction', how: 'restart', errorMs: errMs } })
      this.scheduleStart(nowMs, out)
      return true
    }
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'rate', errorMs: errMs } })
    this.startMove(-errMs, null, nowMs, out)
    this.startMendMs += -errMs
    return true
  }

  /** The player landed `errMs` ahead of the timeline (behind: negative): `play` must come that much later. */
  private learnStartLatency (errMs: number): void {
    const stepMs = clamp(-errMs * START_LATENCY_GAIN, -MAX_START_LATENCY_STEP_MS, MAX_START_LATENCY_STEP_MS)
    this.startLatencyMs = clamp(this.startLatencyMs + stepMs, MIN_START_LATENCY_MS, MAX_START_LATENCY_MS)
  }

  /**
   * The player runs at another rate than we set (a command of ours raced a user's, or the player
   * ignored it): follow what it really does, and ask again for what we want once it persists.
   */
  private reconcileRate (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    const p = this.player
    if (p === null) return
    // The track follows what the player is seen to run at (a command of ours may still be landing).
    if (obs.rate !== this.track.currentRate) this.track.setRate(obs.rate, obs.atMs)
    if (Math.abs(obs.rate - p.rate) <= p.rate * RATE_ROUNDING_SHARE) {
      this.rateMismatchSinceMs = null
      return
    }
    this.rateMismatchSinceMs ??= nowMs
    if (nowMs - this.rateMismatchSinceMs >= RATE_MISMATCH_MS) {
      this.rateMismatchSinceMs = null
      this.commandRate(p.rate, nowMs, out)
    }
  }

  private correctDrift (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    if (this.track.add(obs.atMs, obs.positionMs, obs.uncertaintyMs) && this.move !== null) {
      // The player jumped while a move was under way (mpv catching up after a stall): the move was
      // planned from where it no longer is. Stop it; the track, started again, judges anew.
      this.setBaseRate(nowMs, out)
      this.lastErrorMs = null
      this.jumpCheck = null
      return
    }
    if (this.mendStart(nowMs, out)) return
    // Judged where a rate change still taking effect leaves the player (till then it is off by a
    // transient that mends itself).
    const judgeAtMs = Math.max(nowMs, this.track.rateSettledAtMs)
    const projectedMs = this.track.projectedMs(judgeAtMs)
    const expectedMs = this.host.expectedAt(judgeAtMs, nowMs)
    if (projectedMs === null || expectedMs === null) return
    const errMs = projectedMs - expectedMs
    this.lastErrorMs = errMs
    this.startUnjudged = false
    // The first mature estimate since a start, before any drift move: what the start missed by.
    // Not while a move is under way (following a re-anchor): it has not done its part yet, and
    // taken for the start's miss, a 0.75x room's re-anchor of 22 ms taught mpv's start latency
    // -12.6 ms (truth -40), so every later start there landed ~20 ms ahead. A move that keeps the
    // track (shifted by its jumps) is waited for: after it, the track shows the start's own miss
    // (without the wait, a follower whose plays landed 45 ms late never learnt it in the
    // simulator, and missed by as much at every resume). After a move that started the track
    // again, the start teaches nothing. Nor does a miss further off than a latency can be wrong by
    // (as at the start check).
    if (this.learningStart && this.move?.keepsTrack !== true && this.track.uncertaintyMs <= FITTED_TRUST_MS) {
      this.learningStart = false
      const missMs = errMs - this.startMendMs
      if (this.move === null && Math.abs(missMs) <= MAX_START_LATENCY_STEP_MS) this.learnStartLatency(missMs)
    }
    if (this.jumpCheck !== null) {
      // The move was to take the error to zero; what is left is what its two jumps were off by.
      const jumpMs = (errMs - this.jumpCheck.fromErrorMs - this.jumpCheck.byRateMs) / 2
      this.jumpCheck = null
      this.rateJumpMs = clamp(this.rateJumpMs + (jumpMs - this.rateJumpMs) * RATE_JUMP_GAIN, -MAX_RATE_JUMP_MS, MAX_RATE_JUMP_MS)
    }
    if (this.host.refineOwnState(nowMs, out)) return

    // Judged by what the player is surely off by: a position the player layer fits itself (VLC)
    // may be off by its uncertainty either way, and its early estimates scatter by 30-50 ms.
    const offMs = this.track.surelyOffMs(errMs)
    const canNudge = this.canNudge()
    const seekAtMs = this.seekBarMs(canNudge)
    // Too far for a move (or for one short enough): a re-sync, unless one was made lately. Then,
    // never a loop: wait when even a long move is too long, else a move does what it can.
    if (Math.abs(offMs) >= Math.min(seekAtMs, canNudge ? this.resyncFromMs() : seekAtMs)) {
      if (nowMs >= this.nextCorrectionMs) return this.resync(errMs, nowMs, out)
      if (Math.abs(offMs) >= seekAtMs) return
    }
    if (!canNudge || this.move !== null) return
    if (Math.abs(offMs) < Math.max(this.cfg.nudgeStartMs, this.track.readingLagMs * NUDGE_START_LAG_SHARE)) return
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'rate', errorMs: errMs } })
    // What a fitted position's move leaves says nothing sure of the rate's jumps: none is learnt.
    this.startMove(-offMs, this.track.fitted ? null : errMs, nowMs, out)
  }

  /**
   * How far off the player is re-synced rather than left (or moved): the nudge bar for a player that
   * follows moves, the bar for one whose short rate changes do not move it (VLC), else the no-Rate bar.
   */
  private seekBarMs (canNudge: boolean): number {
    if (canNudge) return this.cfg.seekCorrectionMs
    return this.player?.abilities.nudgeable === false ? this.cfg.seekCorrectionUnnudgeableMs : this.cfg.seekCorrectionNoRateMs
  }

  /** How long a rate change of the playing player takes to take effect (the old rate goes on meanwhile). */
  rateTakesEffectMs (): number {
    const p = this.player
    if (p === null || p.observed?.playing !== true || p.abilities.rateMax <= p.abilities.rateMin) return 0
    return Math.max(0, p.abilities.rateTakesEffectMs ?? 0)
  }

  private canNudge (): boolean {
    const p = this.player
    const s = this.host.state
    if (p === null || s === null || p.abilities.nudgeable === false) return false
    return p.abilities.rateMin < s.rate && p.abilities.rateMax > s.rate
  }

  private setNudge (nudge: number, nowMs: number, out: Action[]): void {
    const s = this.host.state
    const p = this.player
    if (s === null || p === null) return
    this.commandRate(clamp(s.rate * (1 + nudge), p.abilities.rateMin, p.abilities.rateMax), nowMs, out)
  }

  /** Back to the state's own rate (ends any nudge). */
  setBaseRate (nowMs: number, out: Action[]): void {
    const s = this.host.state
    const p = this.player
    if (s === null || p === null) return
    this.move = null
    const want = clamp(s.rate, p.abilities.rateMin, p.abilities.rateMax)
    // A reading taken before our latest rate command cannot show it: asked again on such a reading
    // (mpv: a change takes ~0.3 s to take effect) the player was told the same rate two and three
    // times within 100 ms as offsets and announces came in, and the simulated one lost its
    // catch-up time. A player that really runs at another rate is asked again by reconcileRate.
    const obs = p.observed
    const current = obs !== null && obs.atMs >= this.lastRateCommandAtMs ? obs.rate : p.rate
    if (want !== current || want !== p.rate) this.commandRate(want, nowMs, out)
  }

  commandRate (rate: number, nowMs: number, out: Action[]): void {
    const p = this.player
    if (p === null) return
    // Another speed (not a move): until it takes effect, a new state is landed by a start (`apply`).
    if (this.offSpeed(p.rate, rate)) this.speedSettlesAtMs = nowMs + this.rateTakesEffectMs()
    p.rate = rate
    this.lastRateCommandAtMs = nowMs
    this.track.setRate(rate, nowMs, this.rateTakesEffectMs())
    if (p.abilities.rateMax > p.abilities.rateMin) this.command({ op: 'rate', rate }, nowMs, out)
  }

  /** The player jumps (our command or the user's): its track starts again. */
  resetTrack (nowMs: number): void {
    this.track.reset(nowMs, this.player?.rate ?? 1)
    this.lastErrorMs = null
    this.jumpCheck = null
  }

  command (cmd: PlayerCommand, nowMs: number, out: Action[]): void {
    if (cmd.op === 'play' || cmd.op === 'pause') this.lastPlayingCommand = { playing: cmd.op === 'play', atMs: nowMs }
    out.push({ type: 'player', cmd })
  }
}

/**
 * Whether a start's miss is the player's start latency. Not when its landing was not read (see
 * `checkStart`), nor when it landed a new speed: such a miss also holds what the speed change
 * does to the player (mpv had run at the old speed until the pause; its seek and new speed land
 * together) and to the timeline (the changer's published from a model of its old speed running
 * on, then re-anchored). On real mpv, followers of a 1.25x change learnt their latency 7-27 ms
 * up from that start (-40 -> -12 ms), and the next change's start (1.5x) put one 61 ms ahead:
 * bench:speed's 1.5x changes were 45-76 ms apart at 2 s in 7 of 12 runs. A resume or seek at the
 * room's speed teaches it as before.
 */
function teaches (start: PendingStart): boolean {
  return start.landed && !start.landsSpeed
}

function clamp (v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v))
}
