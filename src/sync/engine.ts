/**
 * The sync engine: given the time and one input, says what to do. No I/O, no timers, no Date.
 *
 * The algorithm:
 * - Playback state is a register, last-writer-wins under the Lamport order (lamport, nodeId). A
 *   local user action becomes a new state stamped one past everything seen and is broadcast as an
 *   `event`. The initiator's player already shows it and is left alone (it starts at once: see
 *   docs/sync.md for the numbers against waiting for a shared start). Bursts (scrubbing, mashing
 *   play/pause) are coalesced: at most one event per `eventMinIntervalMs`, the last always sent.
 * - The state's `atMs` is on one node's monotonic clock (`clock`, the author's at first). Every node
 *   measures the offset to its direct peers (offset.ts) and composes offsets to others through the
 *   `offsets` its neighbours report. Expected position at local time t:
 *     positionMs + (playing ? max(0, t - (atMs - offset(clock))) * rate : 0)
 * - A playing action is published from one fresh reading, which lags the player (mpv: its frame's
 *   time, 0-40 ms). The author re-anchors it once its own track knows better (after ~5 readings,
 *   and again when the track is mature): same stamp, later `atMs`, as an announce. Others move along.
 * - A remote state that wins is applied. Paused: pause at exactly `positionMs` (the same frame
 *   everywhere). Playing: unless the player is already in step, pause at where the timeline will
 *   be at T = now + seek lead, read back the frame the seek landed on, and `play` when the timeline
 *   reaches that frame, less the learnt start latency (mpv resumes a frame ahead). A late receiver
 *   starts on the timeline instead of applying a stale position; a pending start follows the
 *   timeline whatever moves it (offsets still being learnt, a re-anchor, another clock).
 * - Leader: the author of the winning state while present, else the smallest id among this node
 *   and its direct peers. When the node whose clock the timeline is on goes away (or its clock
 *   jumps: a restart), the timeline is re-expressed on another clock at the same instant: no jump.
 *   The leader re-announces every `announceIntervalMs` and answers newcomers.
 * - Drift: the player's readings lag the truth (frame steps, stale values); player-track.ts turns
 *   them into a projection of where the player really is. A start is checked on its first two
 *   readings (a clear miss is redone once) and teaches the start latency when the track matures.
 *   Small error: a move, one rate change held for a computed time and then back, net of the jump
 *   each rate change costs (mpv: ~3.5 ms, learnt); then judged afresh. Large error, or no Rate: one
 *   re-sync, with a cool-down, so it never loops. A user action is a new state, never an error.
 * - Commands race users: a play/pause the reading contradicts, or a user action read while our
 *   scheduled start held the player, keeps the user's intent and puts the player back to it.
 * - Media identity is part of the state: a player showing another file is never driven.
 */
import {
  ADOPT_PLAYING_AFTER_MS, COARSE_READING_LAG_MS, COMMAND_SETTLE_MS, CORRECTION_COOLDOWN_MS,
  IN_STEP_COARSE_MS, IN_STEP_MS, IN_STEP_NO_RATE_MS, MAX_LAMPORT_JUMP, MAX_RATE_JUMP_MS,
  MAX_START_LATENCY_MS, MAX_START_LATENCY_STEP_MS, MEDIA_WAIT_MS, MIN_RATE_NUDGE, MIN_START_LATENCY_MS,
  NUDGE_START_LAG_SHARE, PAUSED_TOLERANCE_MS, RATE_JUMP_GAIN, RATE_MISMATCH_MS, REFINE_MIN_MS,
  REFINE_WINDOW_MS, ROUGH_REFINE_MAX_LAG_MS, STALL_MS, START_CHECK_READINGS, START_LATENCY_GAIN,
  START_REDO_MS, START_SETTLE_MS, STATE_REQUEST_MIN_INTERVAL_MS, TIMER_SLACK_MS, USER_SETTLE_MS,
  resolveConfig, type EngineConfig, type SyncEngineOptions
} from './config.js'
import { compareStamps, LamportClock } from './lamport.js'
import { PeerClocks } from './peer-clocks.js'
import { RoomMedia } from './room-media.js'
import { actionKind, clockOf, inClock, isReanchor, leaderOf, positionAt, wireState } from './timeline.js'
import { PlayerTrack, ROUGH_READINGS } from './player-track.js'
import { fitMedia } from './codec.js'
import type {
  Action, EngineSnapshot, Input, Media, NodeId, PlaybackState, PlayerAbilities,
  PlayerCommand, PlayerObservation, SyncMessage, UserAction
} from './types.js'

interface LocalPlayer {
  abilities: PlayerAbilities
  observed: PlayerObservation | null
  /** Rate we last commanded (or saw), to know what the player runs at. */
  rate: number
}

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
}

const NO_RATE: PlayerAbilities = { canSeek: true, canPause: true, rateMin: 1, rateMax: 1 }

export class SyncEngine {
  readonly nodeId: NodeId
  private readonly cfg: EngineConfig

  private readonly lamport = new LamportClock()
  private state: PlaybackState | null = null
  private leader: NodeId | null = null
  private readonly clocks: PeerClocks

  private player: LocalPlayer | null = null
  private startLatencyMs: number
  private pendingStart: PendingStart | null = null
  /** After a scheduled start: readings from this local time on are checked (null: not checking). */
  private startCheckFromMs: number | null = null
  private startCheckReadings = 0
  /** Set after a scheduled start until the first mature drift estimate teaches us the start latency... */
  private learningStart = false
  /** ...if we saw where its seek landed (otherwise the frame it landed on is part of the miss). */
  private startLanded = false
  /** The current state's start was already redone once (never loop). */
  private startRedone = false
  /** Until then, our own latest action may be re-anchored from the player's track... */
  private refineUntilMs = -Infinity
  /** ...from a rough estimate first, then from the mature track, then no more. */
  private refineStage: 'rough' | 'mature' | 'done' = 'done'
  private move: Move | null = null
  /** After a measured move: the next mature error shows what its rate changes really cost. */
  private jumpCheck: { fromErrorMs: number, byRateMs: number } | null = null
  private rateJumpMs: number
  /** A state we could not apply yet (no player reading, no offset, other media). */
  private needsSync = false
  private settleUntilMs = -Infinity
  private nextCorrectionMs = -Infinity
  private stallSinceMs: number | null = null
  private rateMismatchSinceMs: number | null = null

  private nudge = 0
  private readonly track = new PlayerTrack()
  private lastErrorMs: number | null = null

  private lastEventSentMs = -Infinity
  private eventDeferred = false
  private lastAnnounceMs = -Infinity
  private lastStateRequestMs = -Infinity
  /** When to make what our playing player shows the room's first state, unless one arrives first. */
  private adoptDueMs: number | null = null
  private lastWakeMs: number | null = null
  private readonly media: RoomMedia

  constructor (opts: SyncEngineOptions) {
    this.cfg = resolveConfig(opts)
    this.nodeId = this.cfg.nodeId
    this.clocks = new PeerClocks(this.nodeId)
    this.media = new RoomMedia(this.nodeId)
    this.startLatencyMs = this.cfg.startLatencyMs
    this.rateJumpMs = this.cfg.rateJumpMs
  }

  handle (input: Input, nowMs: number): Action[] {
    const out: Action[] = []
    switch (input.type) {
      case 'peer-up': this.onPeerUp(input.peer, nowMs, out); break
      case 'peer-down':
        this.onPeerDown(input.peer)
        this.considerHold(nowMs, out)
        break
      case 'clock-sample': this.onClockSample(input, nowMs, out); break
      case 'message': this.onMessage(input.from, input.author, input.msg, nowMs, out); break
      case 'player-status': this.onPlayerStatus(input.observed, nowMs, out); break
      case 'user': this.onUserAction(input.action, nowMs, out); break
      case 'player-attached': this.onPlayerAttached(input.abilities, input.observed, nowMs, out); break
      case 'player-detached': this.onPlayerDetached(nowMs); break
      // The timer that brought this tick is spent (it may even have fired a hair early): ask again.
      case 'tick': this.lastWakeMs = null; break
    }
    this.clocks.forgetSilent(nowMs)
    this.updateLeader(nowMs, out)
    this.runDue(nowMs, out)
    this.requestWake(nowMs, out)
    return out
  }

  snapshot (nowMs: number): EngineSnapshot {
    return {
      nodeId: this.nodeId,
      leader: this.leader,
      state: this.state === null ? null : { ...this.state },
      expectedPositionMs: this.expectedAt(nowMs, nowMs),
      errorMs: this.lastErrorMs,
      peers: this.clocks.known().map(peer => {
        const est = this.clocks.directEstimate(peer, nowMs)
        const composed = est === null ? this.clocks.composedOffset(peer, nowMs) : null
        return {
          peer,
          offsetMs: est?.offsetMs ?? composed?.offsetMs ?? null,
          rttMs: est?.rttMs ?? composed?.rttMs ?? null,
          direct: this.clocks.isDirect(peer)
        }
      })
    }
  }

  /** The learnt `play` -> running latency of the local player (for status and benchmarks). */
  get playerStartLatencyMs (): number {
    return this.startLatencyMs
  }

  /** The learnt position jump per rate change of the local player (for status and benchmarks). */
  get playerRateJumpMs (): number {
    return this.rateJumpMs
  }

  // ---- peers and clocks -------------------------------------------------------------------------

  private onPeerUp (peer: NodeId, nowMs: number, out: Action[]): void {
    if (peer === this.nodeId) return
    this.clocks.up(peer, nowMs, () => {
      // A timeline held on its old clock goes onto ours while that clock is still known (its next
      // sample may show a new process, with a clock that began again).
      if (this.state !== null && clockOf(this.state) === peer) this.state = this.stateInClock(this.nodeId, nowMs)
    })
    // The leader tells a newcomer at once; anyone else asks (after a network drop the room may have
    // moved on, and the leader may be reachable only through others). Stale answers get repaired.
    if (this.state !== null && this.computeLeader(nowMs) === this.nodeId) this.sendState(peer, nowMs, out)
    else out.push({ type: 'send', to: peer, msg: { type: 'state-request' } })
    if (this.state === null) this.adoptDueMs ??= nowMs + ADOPT_PLAYING_AFTER_MS
    // `media-wait` is said on change: a newcomer (or an author back as a new process) would
    // otherwise never learn that we still lack the room's file.
    const lacking = this.media.toldLacking
    if (lacking !== null) out.push({ type: 'send', to: peer, msg: { type: 'media-wait', mediaId: lacking, ready: false } })
  }

  private onPeerDown (peer: NodeId): void {
    this.media.peerGone(peer)
    this.clocks.down(peer)
  }

  private onClockSample (s: { peer: NodeId, t1: number, t2: number, t3: number, t4: number }, nowMs: number, out: Action[]): void {
    if (!this.clocks.sample(s.peer, s, nowMs, this.onClockRestart)) return
    if (this.needsSync) this.syncPlayer(nowMs, out)
  }

  /**
   * A node's clock restarted (its process did: a new monotonic origin), or may have. If the
   * timeline is on that clock, move it to ours first, with the offset from before, so it stays put.
   */
  private readonly onClockRestart = (node: NodeId, offsetBeforeMs: number | null): void => {
    const s = this.state
    if (s === null || clockOf(s) !== node || offsetBeforeMs === null) return
    this.state = { ...s, atMs: s.atMs - offsetBeforeMs, clock: this.nodeId }
  }

  // ---- messages ---------------------------------------------------------------------------------

  private onMessage (from: NodeId, author: NodeId, msg: SyncMessage, nowMs: number, out: Action[]): void {
    if (author === this.nodeId) return
    this.clocks.heardFrom(author, nowMs)
    switch (msg.type) {
      case 'event': {
        const s = msg.state
        if (s.stamp.nodeId !== author || (s.clock !== undefined && s.clock !== author)) {
          return this.reject(author, 'event not stamped by its author', out)
        }
        return this.receiveState(s, false, from, author, nowMs, out)
      }
      case 'announce':
        if (msg.leader !== author) return this.reject(author, 'announce from someone else than its leader', out)
        return this.receiveState(msg.state, true, from, author, nowMs, out)
      case 'offsets': {
        if (from !== author) return this.reject(author, 'relayed offsets', out)
        const { known, reply } = this.clocks.receiveOffsets(from, msg.entries, nowMs, this.onClockRestart)
        if (!known) return
        if (reply !== null) out.push({ type: 'send', to: from, msg: { type: 'offsets', entries: reply } })
        if (this.needsSync) this.syncPlayer(nowMs, out)
        return
      }
      case 'state-request':
        if (this.state !== null) this.sendState(from, nowMs, out)
        return
      case 'media-wait':
        this.media.peerSays(author, msg.mediaId, msg.ready)
        this.considerHold(nowMs, out)
    }
  }

  private reject (peer: NodeId, reason: string, out: Action[]): void {
    out.push({ type: 'notice', notice: { kind: 'rejected', peer, reason } })
  }

  private receiveState (incoming: PlaybackState, isAnnounce: boolean, from: NodeId, author: NodeId, nowMs: number, out: Action[]): void {
    if (incoming.stamp.lamport > this.lamport.value + MAX_LAMPORT_JUMP) {
      return this.reject(author, `lamport ${incoming.stamp.lamport} jumps too far ahead`, out)
    }
    this.lamport.observe(incoming.stamp.lamport)
    const s: PlaybackState = { ...incoming, clock: incoming.clock ?? incoming.stamp.nodeId }
    const cmp = this.state === null ? 1 : compareStamps(s.stamp, this.state.stamp)

    if (cmp > 0) {
      const prev = this.state
      this.state = s
      this.media.noteChange(prev, s)
      this.forgetTimeline()
      this.eventDeferred = false
      if (s.stamp.nodeId !== this.nodeId) {
        out.push({ type: 'notice', notice: { kind: 'remote-action', author: s.stamp.nodeId, action: actionKind(prev, s, this.mediaMismatch() !== null), positionMs: s.positionMs, media: s.media } })
      }
      this.updateLeader(nowMs, out)
      this.syncPlayer(nowMs, out)
      return
    }

    if (cmp === 0 && this.state !== null) {
      if (isReanchor(this.state, s, author)) return this.followReanchor(s, nowMs, out)
      // The same event on another clock: follow the leader's, or any clock we can convert.
      const ours = clockOf(this.state)
      const theirs = clockOf(s)
      if (!isAnnounce || ours === theirs || this.clocks.offsetTo(theirs, nowMs) === null) return
      if (author === this.computeLeader(nowMs) || this.clocks.offsetTo(ours, nowMs) === null) {
        this.state = s
        if (this.needsSync) this.syncPlayer(nowMs, out)
      }
      return
    }

    // Stale: the sender missed a newer state; tell it (bounded per peer).
    if (this.clocks.mayRepair(from, nowMs)) this.sendState(from, nowMs, out)
  }

  /** Takes the re-anchored timeline, and moves the player along with it: no re-start for a small move. */
  private followReanchor (s: PlaybackState, nowMs: number, out: Action[]): void {
    const beforeMs = this.expectedAt(nowMs, nowMs)
    this.state = s
    const afterMs = this.expectedAt(nowMs, nowMs)
    if (this.needsSync || beforeMs === null || afterMs === null) return this.syncPlayer(nowMs, out)
    const deltaMs = afterMs - beforeMs
    if (this.pendingStart !== null) return // it follows the timeline by itself
    // Right after a start the track is too young to steer by, and the player was on the old
    // timeline as well as we could put it: move it along, open loop. Too far for that: re-start.
    const p = this.player
    if (p === null || p.observed?.playing !== true) return
    const canNudge = this.canNudge()
    if (Math.abs(deltaMs) > (canNudge ? IN_STEP_MS : IN_STEP_NO_RATE_MS)) return this.scheduleStart(nowMs, out)
    // A player that stays where it was is off by the move: its start can no longer be judged.
    if (!canNudge) this.learningStart = false
    else this.startMove(deltaMs, null, nowMs, out)
  }

  /**
   * Moves a playing player `deltaMs` along its media by one rate change held for as long as it
   * takes (about NUDGE_TIME_CONSTANT_MS, within ±MAX_RATE_NUDGE), net of the jumps that the change
   * and the change back cost. A move already under way is folded in.
   */
  private startMove (deltaMs: number, fromErrorMs: number | null, nowMs: number, out: Action[]): void {
    const s = this.state
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
    this.move = { nudge, untilMs: nowMs + Math.abs(byRateMs) / (s.rate * Math.abs(nudge)), byRateMs, fromErrorMs: current === null ? fromErrorMs : null }
    this.jumpCheck = null
    this.setNudge(nudge, nowMs, out)
    if (this.coarse()) this.track.shift(this.rateJumpMs)
  }

  private coarse (): boolean {
    return this.track.readingLagMs > COARSE_READING_LAG_MS
  }

  /** Back to the state's rate. The jumps make older readings say nothing of where it is now. */
  private endMove (nowMs: number, out: Action[]): void {
    const move = this.move
    this.setBaseRate(nowMs, out)
    if (this.coarse()) return this.track.shift(this.rateJumpMs)
    this.track.reset(nowMs, this.player?.rate ?? 1, false)
    this.lastErrorMs = null
    if (move?.fromErrorMs != null) this.jumpCheck = { fromErrorMs: move.fromErrorMs, byRateMs: move.byRateMs }
  }

  /** Our state, on our own clock when we can express it there, as an `announce` to one peer. */
  private sendState (to: NodeId, nowMs: number, out: Action[]): void {
    const s = this.stateInClock(this.nodeId, nowMs)
    if (s !== null) out.push({ type: 'send', to, msg: { type: 'announce', state: wireState(s), leader: this.nodeId } })
  }

  // ---- leader -----------------------------------------------------------------------------------

  private computeLeader (nowMs: number): NodeId | null {
    const s = this.state
    return leaderOf(s, s !== null && this.clocks.present(s.stamp.nodeId, nowMs), this.clocks.smallestDirect())
  }

  private updateLeader (nowMs: number, out: Action[]): void {
    const leader = this.computeLeader(nowMs)
    if (leader !== this.leader) {
      this.leader = leader
      out.push({ type: 'notice', notice: { kind: 'leader', leader } })
      // Taking over someone else's timeline: tell everyone at once (our own event already did).
      if (leader === this.nodeId && this.state?.stamp.nodeId !== this.nodeId) this.lastAnnounceMs = -Infinity
    }
    const s = this.state
    if (s === null || leader === null) return
    const clock = clockOf(s)
    // Hand-over: the clock's owner left, or we lead and can hold the timeline on our own clock.
    if (clock !== leader && (!this.clocks.present(clock, nowMs) || leader === this.nodeId)) {
      const target = this.clocks.offsetTo(leader, nowMs) !== null ? leader : this.nodeId
      const moved = this.stateInClock(target, nowMs)
      if (moved !== null) this.state = moved
    }
  }

  /** The state with `atMs` on `node`'s clock (same instant), or as it is when we cannot convert. */
  private stateInClock (node: NodeId, nowMs: number): PlaybackState | null {
    const s = this.state
    if (s === null) return null
    return inClock(s, node, this.clocks.offsetTo(clockOf(s), nowMs), this.clocks.offsetTo(node, nowMs), nowMs)
  }

  // ---- the local player -------------------------------------------------------------------------

  private onPlayerAttached (abilities: PlayerAbilities, observed: PlayerObservation, nowMs: number, out: Action[]): void {
    this.player = { abilities, observed, rate: observed.rate }
    this.resetTrack(nowMs)
    this.pendingStart = null
    this.media.resetMismatchNotice()
    if (this.state !== null) this.syncPlayer(nowMs, out)
  }

  private onPlayerDetached (nowMs: number): void {
    this.player = null
    this.pendingStart = null
    this.resetTrack(nowMs)
  }

  private onUserAction (action: UserAction, nowMs: number, out: Action[]): void {
    // Opening the very file the room is on is catching up with the room, not a new action (also
    // when we set the room on it: a player restarted on its file must not send everyone to 0:00).
    // Only from a file that was not the room's: from the room's own file, another one is a track
    // change even when it has the same length.
    const s = this.state
    const before = fitMedia(this.player?.observed?.media ?? null)
    if (action.kind === 'media' && s !== null && s.media !== null && !this.matchesRoom(s, before) && this.matchesRoom(s, fitMedia(action.observed.media))) {
      if (this.player === null) this.player = { abilities: NO_RATE, observed: action.observed, rate: action.observed.rate }
      this.player.observed = action.observed
      this.syncPlayer(nowMs, out)
      return
    }
    // A play/pause the reading contradicts was overtaken by a command of ours still in flight:
    // the user's intent wins, and the player is put back to it.
    // Likewise a seek or rate change read while our scheduled start held the player paused.
    const heldByUs = this.pendingStart !== null
    const intended = action.kind === 'play' ? true : action.kind === 'pause' ? false : action.observed.playing || heldByUs
    const overtaken = intended !== action.observed.playing
    const obs = overtaken ? { ...action.observed, playing: intended } : action.observed
    if (this.player === null) this.player = { abilities: NO_RATE, observed: obs, rate: obs.rate }
    this.player.observed = obs
    const prev = this.state
    // Only a rate action changes the room's rate; anything else keeps it (the reading may show a
    // nudge of ours, or one still landing).
    const rate = action.kind === 'rate' || prev === null ? obs.rate : prev.rate
    const offRate = this.player !== null && this.player.rate !== rate
    const waits = this.cfg.initiatorWaits && obs.playing && (action.kind === 'play' || action.kind === 'seek')
    // Waiting: the timeline starts at T from where the player is now; we hold the player till then.
    // A playing player's reading lags the truth by a frame phase or a stale refresh: add what the
    // first reading after a jump typically lags, so the others follow where this player is rather
    // than where it was read.
    const readMs = obs.positionMs + (obs.playing ? this.track.freshReadingLagMs * obs.rate : 0)
    const positionMs = waits ? readMs + Math.max(0, nowMs - obs.atMs) * obs.rate : readMs
    // Our copy of the room's film keeps the room's name for it: only a track change renames it.
    const ours = fitMedia(obs.media)
    const media = action.kind !== 'media' && prev !== null && this.matchesRoom(prev, ours) ? prev.media : ours
    this.state = {
      media,
      playing: obs.playing,
      positionMs: Math.max(0, positionMs),
      atMs: waits ? nowMs + this.sharedLeadMs(nowMs) : obs.atMs,
      rate,
      stamp: this.lamport.next(this.nodeId),
      clock: this.nodeId
    }
    this.media.noteChange(prev, this.state)
    this.pendingStart = null
    this.forgetTimeline()
    this.needsSync = false
    this.media.resetMismatchNotice()
    this.stallSinceMs = null
    this.settleUntilMs = nowMs + USER_SETTLE_MS
    this.refineUntilMs = obs.playing ? nowMs + REFINE_WINDOW_MS : -Infinity
    this.refineStage = obs.playing && !waits ? 'rough' : 'done'
    if (offRate && action.kind !== 'rate') this.commandRate(rate, nowMs, out)
    this.player.rate = rate
    this.nudge = 0
    this.move = null
    this.resetTrack(nowMs)
    // The reading it was published from is the track's first (how much such a reading lags is learnt from it).
    if (action.observed.playing && !waits) this.track.add(obs.atMs, obs.positionMs)

    if (overtaken) this.command(intended ? { op: 'play' } : { op: 'pause', positionMs: obs.positionMs }, out)
    if (waits) this.scheduleStart(nowMs, out)
    if (nowMs - this.lastEventSentMs >= this.cfg.eventMinIntervalMs) this.sendEvent(nowMs, out)
    else this.eventDeferred = true
    if (action.kind === 'media') this.media.newTrack()
    this.considerHold(nowMs, out)
  }

  /**
   * A new state took over: what was tied to the old timeline goes (a start is judged against the
   * timeline it was made for; a hold was for the state that made it).
   */
  private forgetTimeline (): void {
    this.startRedone = false
    this.startCheckFromMs = null
    this.learningStart = false
    this.media.dropHold()
  }

  /**
   * Bounded wait for viewers who lack the file (track changes). Only the author of the current
   * state decides, so the room sees one pause and one resume: it holds a playing room (a pause at
   * the timeline's position, as if it had paused) while present peers say they lack its media, and
   * resumes on a shared start once they all have it or MEDIA_WAIT_MS has passed. One hold per media.
   */
  private considerHold (nowMs: number, out: Action[]): void {
    const s = this.state
    const decision = this.media.decideHold(s, nowMs, node => this.clocks.present(node, nowMs))
    if (s === null || s.media === null || decision === null) return
    if (decision.kind === 'hold') {
      // As if the author had paused where the timeline is: one pause for the whole room.
      const positionMs = Math.max(0, this.expectedAt(nowMs, nowMs) ?? s.positionMs)
      this.state = { ...s, playing: false, positionMs, atMs: nowMs, stamp: this.lamport.next(this.nodeId), clock: this.nodeId }
      this.pendingStart = null
      this.command({ op: 'pause', positionMs }, out)
      this.settleUntilMs = nowMs + COMMAND_SETTLE_MS
      out.push({ type: 'notice', notice: { kind: 'waiting', peers: decision.waitingFor, media: s.media, untilMs: decision.untilMs } })
      this.sendEvent(nowMs, out)
      return
    }
    // Resume together: a shared start far enough ahead for everyone to hear of it and get ready.
    this.state = { ...s, playing: true, atMs: nowMs + this.sharedLeadMs(nowMs), stamp: this.lamport.next(this.nodeId), clock: this.nodeId }
    out.push({ type: 'notice', notice: { kind: 'wait-over', timedOut: decision.timedOut, peers: decision.waitingFor } })
    this.sendEvent(nowMs, out)
    this.refineStage = 'done'
    this.scheduleStart(nowMs, out)
  }

  /** How far ahead a shared start must be for every peer to hear of it and get ready. */
  private sharedLeadMs (nowMs: number): number {
    return Math.max(this.cfg.minLeadMs, this.cfg.leadRttFactor * this.clocks.maxRttMs(nowMs) + this.cfg.seekLeadMs + Math.max(0, this.startLatencyMs))
  }

  private sendEvent (nowMs: number, out: Action[]): void {
    this.eventDeferred = false
    if (this.state === null || this.state.stamp.nodeId !== this.nodeId) return
    this.lastEventSentMs = nowMs
    this.lastAnnounceMs = nowMs // an event is as good as an announce
    const { clock: _clock, ...event } = this.state.clock === this.nodeId ? this.state : this.stateInClock(this.nodeId, nowMs) ?? this.state
    out.push({ type: 'broadcast', msg: { type: 'event', state: event } })
  }

  private mediaMismatch (): { theirs: Media | null, ours: Media | null } | null {
    return this.media.mismatch(this.state, fitMedia(this.player?.observed?.media ?? null))
  }

  private matchesRoom (s: PlaybackState, media: Media | null): boolean {
    return this.media.matches(s, media)
  }

  /** Brings the player to the state: at once when paused, by a scheduled start when playing. */
  private syncPlayer (nowMs: number, out: Action[]): void {
    const s = this.state
    const p = this.player
    if (s === null) return
    if (p === null || p.observed === null) {
      this.needsSync = true
      return
    }
    const mismatch = this.mediaMismatch()
    this.media.tell(s, fitMedia(p.observed.media), mismatch, out)
    if (mismatch !== null) {
      this.needsSync = true
      this.pendingStart = null
      return
    }
    this.pendingStart = null
    this.stallSinceMs = null
    const obs = p.observed

    if (!s.playing) {
      this.needsSync = false
      this.resetTrack(nowMs)
      // Always pause: the last reading may predate a `play` of ours still landing (pausing a paused
      // player is a no-op, and mpv does not even signal it). The pause seeks there too.
      if (p.abilities.canPause) this.command({ op: 'pause', positionMs: s.positionMs }, out)
      else if (p.abilities.canSeek && (obs.playing || obs.positionMs !== s.positionMs)) this.command({ op: 'seek', positionMs: s.positionMs }, out)
      this.setBaseRate(nowMs, out)
      this.settleUntilMs = nowMs + COMMAND_SETTLE_MS
      return
    }

    const expectedNow = this.expectedAt(nowMs, nowMs)
    if (expectedNow === null) {
      // No offset to the clock's owner (reachable only through others): ask the nearest neighbour
      // for the state on its own clock, which we can convert, and follow the rate meanwhile.
      this.needsSync = true
      this.setBaseRate(nowMs, out)
      this.requestStateNearby(nowMs, out)
      return
    }
    this.needsSync = false
    if (obs.playing) {
      // The track survives a new state: if it is mature, it knows where the player really is.
      const projectedMs = this.track.projectedMs(nowMs)
      const roughMs = this.track.roughMs(nowMs) ?? obs.positionMs + (this.track.freshReadingLagMs + nowMs - obs.atMs) * obs.rate
      const errMs = (projectedMs ?? roughMs) - expectedNow
      const inStepMs = projectedMs === null ? IN_STEP_COARSE_MS : this.canNudge() ? IN_STEP_MS : IN_STEP_NO_RATE_MS
      if (Math.abs(errMs) <= inStepMs) {
        this.setBaseRate(nowMs, out)
        return
      }
    }
    this.scheduleStart(nowMs, out)
  }

  private requestStateNearby (nowMs: number, out: Action[]): void {
    if (nowMs - this.lastStateRequestMs < STATE_REQUEST_MIN_INTERVAL_MS) return
    const nearest = this.clocks.nearest(nowMs)
    if (nearest === null) return
    this.lastStateRequestMs = nowMs
    out.push({ type: 'send', to: nearest, msg: { type: 'state-request' } })
  }

  /** Pause, seek to where the timeline will be at T, `play` at T - start latency. */
  private scheduleStart (nowMs: number, out: Action[]): void {
    const s = this.state
    const p = this.player
    if (s === null || p === null) return
    const off = this.clocks.offsetTo(clockOf(s), nowMs)
    if (off === null) return
    const startAtMs = Math.max(nowMs + this.cfg.seekLeadMs + Math.max(0, this.startLatencyMs), s.atMs - off)
    const positionMs = Math.max(0, this.expectedAt(startAtMs, nowMs) ?? s.positionMs)
    // The pause seeks there too (one SetPosition: see PlayerCommand).
    if (p.abilities.canPause) this.command({ op: 'pause', positionMs }, out)
    else if (p.abilities.canSeek) this.command({ op: 'seek', positionMs }, out)
    this.setBaseRate(nowMs, out)
    this.pendingStart = { positionMs, commandedAtMs: nowMs, landed: false }
    this.startCheckFromMs = null
    this.learningStart = false
    this.resetTrack(nowMs)
  }

  /**
   * A paused reading while a start is pending shows where the seek landed: players land on a frame
   * (mpv: the first at or after the target, up to 40 ms on at 25 fps), so the start is moved to
   * when the timeline passes that frame. The start latency is then the player's alone, not the
   * seek's: mpv resumes one frame ahead of the frame it rests on, to within ~2 ms.
   */
  private retimeStart (start: PendingStart, obs: PlayerObservation): void {
    const s = this.state
    if (s === null || obs.playing || obs.atMs <= start.commandedAtMs) return
    const landedMs = obs.positionMs
    // Further off is not this seek (it has not landed yet, or the player ignored it).
    if (Math.abs(landedMs - start.positionMs) > PAUSED_TOLERANCE_MS) return
    start.positionMs = landedMs
    start.landed = true
  }

  /** Local time at which the timeline reaches where the pending start rests; null without an offset. */
  private startAtMs (start: PendingStart, nowMs: number): number | null {
    const s = this.state
    if (s === null) return null
    if (!s.playing) return nowMs
    const off = this.clocks.offsetTo(clockOf(s), nowMs)
    if (off === null) return null
    return s.atMs - off + Math.max(0, start.positionMs - s.positionMs) / s.rate
  }

  /** Local time to send `play`: the start latency before the timeline gets there. */
  private playAtMs (start: PendingStart, nowMs: number): number | null {
    const startAtMs = this.startAtMs(start, nowMs)
    return startAtMs === null ? null : startAtMs - this.startLatencyMs
  }

  private onPlayerStatus (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    const p = this.player
    if (p === null) return
    const mediaBefore = p.observed?.media?.id ?? null
    p.observed = obs
    const s = this.state
    if (s === null) return
    if ((obs.media?.id ?? null) !== mediaBefore) this.needsSync = true // another file: look again
    if (this.needsSync) return this.syncPlayer(nowMs, out)
    if (this.pendingStart !== null) return this.retimeStart(this.pendingStart, obs)
    if (this.startCheckFromMs !== null && s.playing && obs.playing) return this.checkStart(obs, nowMs, out)
    if (nowMs < this.settleUntilMs) {
      // Too early to judge, not to learn: a playing player's readings start its track.
      if (s.playing && obs.playing) {
        this.track.add(obs.atMs, obs.positionMs)
        this.refineOwnState(nowMs, out)
      }
      return
    }

    const pausedElsewhere = !s.playing && !obs.playing && Math.abs(obs.positionMs - s.positionMs) > PAUSED_TOLERANCE_MS
    if (obs.playing !== s.playing || pausedElsewhere) {
      // Not the user (that would be a `user` input): the player stalled, ended, ignored us, or a
      // command of ours landed after a user action it raced with.
      this.stallSinceMs ??= nowMs
      if (nowMs - this.stallSinceMs >= STALL_MS && nowMs >= this.nextCorrectionMs) {
        this.nextCorrectionMs = nowMs + CORRECTION_COOLDOWN_MS
        out.push({ type: 'notice', notice: { kind: 'correction', how: 'seek', errorMs: 0 } })
        this.syncPlayer(nowMs, out)
      }
      return
    }
    this.stallSinceMs = null
    if (s.playing) {
      this.reconcileRate(obs, nowMs, out)
      this.correctDrift(obs, nowMs, out)
    }
  }

  /**
   * Right after a scheduled start: how far the player landed from the timeline, judged roughly from
   * the first few readings. A clear miss means `play` took effect much sooner or later than we
   * allowed (a player unlike mpv, still on the default guess; one that ignored the seek): learn
   * from it and redo the start once, at once. Anything finer is learnt from the mature track.
   */
  private checkStart (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    const fromMs = this.startCheckFromMs
    if (fromMs === null) return
    if (obs.atMs < fromMs) return // the player is not meant to be on the timeline yet
    this.track.add(obs.atMs, obs.positionMs)
    if (++this.startCheckReadings < START_CHECK_READINGS) return
    this.startCheckFromMs = null
    const roughMs = this.track.roughMs(nowMs)
    const expectedMs = this.expectedAt(nowMs, nowMs)
    if (roughMs === null || expectedMs === null) return
    const errMs = roughMs - expectedMs
    // What two readings cannot tell apart: up to two lags (a frame for mpv, a refresh for a stale player).
    const missMs = START_REDO_MS + 2 * Math.max(this.track.freshReadingLagMs, this.track.readingLagMs)
    if (Math.abs(errMs) <= missMs || this.startRedone || Math.abs(errMs) >= this.cfg.seekCorrectionMs) {
      this.learningStart = this.startLanded
      return
    }
    // Further off than a latency could be wrong by, the player is not where we put it (a seek of
    // the user's the player layer did not report; one that failed): redo, but learn nothing.
    if (Math.abs(errMs) <= MAX_START_LATENCY_STEP_MS) this.learnStartLatency(errMs)
    this.startRedone = true
    this.lastErrorMs = errMs
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'restart', errorMs: errMs } })
    this.scheduleStart(nowMs, out)
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
    if (obs.rate === p.rate) {
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
    this.track.add(obs.atMs, obs.positionMs)
    const projectedMs = this.track.projectedMs(nowMs)
    const expectedMs = this.expectedAt(nowMs, nowMs)
    if (projectedMs === null || expectedMs === null) return
    const errMs = projectedMs - expectedMs
    this.lastErrorMs = errMs
    if (this.learningStart) {
      // The first mature estimate since a start, before any drift move: what the start missed by.
      this.learningStart = false
      this.learnStartLatency(errMs)
    }
    if (this.jumpCheck !== null) {
      // The move was to take the error to zero; what is left is what its two jumps were off by.
      const jumpMs = (errMs - this.jumpCheck.fromErrorMs - this.jumpCheck.byRateMs) / 2
      this.jumpCheck = null
      this.rateJumpMs = clamp(this.rateJumpMs + (jumpMs - this.rateJumpMs) * RATE_JUMP_GAIN, -MAX_RATE_JUMP_MS, MAX_RATE_JUMP_MS)
    }
    if (this.refineOwnState(nowMs, out)) return

    const canNudge = this.canNudge()
    const seekAtMs = canNudge ? this.cfg.seekCorrectionMs : this.cfg.seekCorrectionNoRateMs
    if (Math.abs(errMs) >= seekAtMs) {
      // Too far for a move; a re-sync, unless one was made lately (then wait: never a loop).
      if (nowMs < this.nextCorrectionMs) return
      this.nextCorrectionMs = nowMs + CORRECTION_COOLDOWN_MS
      out.push({ type: 'notice', notice: { kind: 'correction', how: 'seek', errorMs: errMs } })
      this.scheduleStart(nowMs, out)
      return
    }
    if (!canNudge || this.move !== null) return
    if (Math.abs(errMs) < Math.max(this.cfg.nudgeStartMs, this.track.readingLagMs * NUDGE_START_LAG_SHARE)) return
    out.push({ type: 'notice', notice: { kind: 'correction', how: 'rate', errorMs: errMs } })
    this.startMove(-errMs, errMs, nowMs, out)
  }

  /**
   * Our own playing action was published from one fresh reading; once the track knows better, the
   * state is re-anchored where the player really is (see REFINE_WINDOW_MS): the same stamp (it is
   * the same action, and a new stamp could override someone's concurrent one), a later anchor, as
   * an announce. The others shift along (followReanchor); our player is left alone. True if moved.
   */
  private refineOwnState (nowMs: number, out: Action[]): boolean {
    const s = this.state
    if (this.refineStage === 'done' || s === null) return false
    if (nowMs > this.refineUntilMs || !s.playing || s.stamp.nodeId !== this.nodeId || clockOf(s) !== this.nodeId) {
      this.refineStage = 'done'
      return false
    }
    const matureMs = this.track.projectedMs(nowMs)
    const roughMs = this.refineStage === 'rough' && this.track.size >= ROUGH_READINGS && this.track.freshReadingLagMs < ROUGH_REFINE_MAX_LAG_MS
      ? this.track.roughMs(nowMs)
      : null
    const estimateMs = matureMs ?? roughMs
    const expectedMs = this.expectedAt(nowMs, nowMs)
    if (estimateMs === null || expectedMs === null) return false
    this.refineStage = matureMs === null ? 'mature' : 'done'
    if (Math.abs(estimateMs - expectedMs) < REFINE_MIN_MS) return false
    this.state = { ...s, positionMs: Math.max(0, estimateMs), atMs: nowMs, clock: this.nodeId }
    this.lastErrorMs = 0
    this.lastAnnounceMs = nowMs
    out.push({ type: 'broadcast', msg: { type: 'announce', state: wireState(this.state), leader: this.nodeId } })
    return true
  }

  private canNudge (): boolean {
    const p = this.player
    const s = this.state
    if (p === null || s === null) return false
    return p.abilities.rateMin < s.rate && p.abilities.rateMax > s.rate
  }

  private setNudge (nudge: number, nowMs: number, out: Action[]): void {
    const s = this.state
    const p = this.player
    if (s === null || p === null) return
    this.nudge = nudge
    this.commandRate(clamp(s.rate * (1 + nudge), p.abilities.rateMin, p.abilities.rateMax), nowMs, out)
  }

  /** Back to the state's own rate (ends any nudge). */
  private setBaseRate (nowMs: number, out: Action[]): void {
    const s = this.state
    const p = this.player
    if (s === null || p === null) return
    this.nudge = 0
    this.move = null
    const want = clamp(s.rate, p.abilities.rateMin, p.abilities.rateMax)
    const current = p.observed?.rate ?? p.rate
    if (want !== current || want !== p.rate) this.commandRate(want, nowMs, out)
  }

  private commandRate (rate: number, nowMs: number, out: Action[]): void {
    const p = this.player
    if (p === null) return
    p.rate = rate
    this.track.setRate(rate, nowMs)
    if (p.abilities.rateMax > p.abilities.rateMin) this.command({ op: 'rate', rate }, out)
  }

  /** The player jumps (our command or the user's): its track starts again. */
  private resetTrack (nowMs: number): void {
    this.track.reset(nowMs, this.player?.rate ?? 1)
    this.lastErrorMs = null
    this.jumpCheck = null
  }

  private command (cmd: PlayerCommand, out: Action[]): void {
    out.push({ type: 'player', cmd })
  }

  /** Expected media position at local time `tMs`; null without a state or an offset to its clock. */
  private expectedAt (tMs: number, nowMs: number): number | null {
    const s = this.state
    if (s === null) return null
    return positionAt(s, s.playing ? this.clocks.offsetTo(clockOf(s), nowMs) : null, tMs)
  }

  // ---- timers -----------------------------------------------------------------------------------

  private runDue (tickMs: number, out: Action[]): void {
    const holdDueMs = this.media.nextDueMs()
    if (holdDueMs !== null && tickMs + TIMER_SLACK_MS >= holdDueMs) this.considerHold(tickMs, out)
    // Timers fire a hair early or late and clocks are converted with float error: anything due
    // within the slack counts as due, so a tick at its wake time always does the work.
    const dueByMs = tickMs + TIMER_SLACK_MS
    const start = this.pendingStart
    const playAtMs = start === null ? null : this.playAtMs(start, tickMs)
    if (start !== null && playAtMs !== null && dueByMs >= playAtMs) {
      const startAtMs = playAtMs + this.startLatencyMs
      this.pendingStart = null
      this.command({ op: 'play' }, out)
      this.settleUntilMs = startAtMs + START_SETTLE_MS
      this.startCheckFromMs = Math.max(tickMs, startAtMs)
      this.startCheckReadings = 0
      this.learningStart = false
      this.startLanded = start.landed
      this.resetTrack(tickMs)
    }
    if (this.move !== null && dueByMs >= this.move.untilMs) this.endMove(tickMs, out)
    if (this.adoptDueMs !== null && dueByMs >= this.adoptDueMs) {
      this.adoptDueMs = null
      const obs = this.player?.observed ?? null
      // As if the viewer had pressed play where they are: the others follow, this player is left be.
      if (this.state === null && obs !== null && obs.playing) {
        this.onUserAction({ kind: 'play', observed: obs }, tickMs, out)
        this.updateLeader(tickMs, out)
      }
    }
    if (this.eventDeferred && dueByMs >= this.lastEventSentMs + this.cfg.eventMinIntervalMs) this.sendEvent(tickMs, out)
    if (this.leader === this.nodeId && this.state !== null && dueByMs >= this.lastAnnounceMs + this.cfg.announceIntervalMs) {
      this.lastAnnounceMs = tickMs
      const s = this.stateInClock(this.nodeId, tickMs)
      if (s !== null) out.push({ type: 'broadcast', msg: { type: 'announce', state: wireState(s), leader: this.nodeId } })
    }
    for (const { to, entries } of this.clocks.dueReports(tickMs, dueByMs, this.state === null ? null : clockOf(this.state))) {
      out.push({ type: 'send', to, msg: { type: 'offsets', entries } })
    }
  }

  private nextDueMs (nowMs: number): number | null {
    const due: number[] = []
    const holdDueMs = this.media.nextDueMs()
    if (holdDueMs !== null) due.push(holdDueMs)
    const playAtMs = this.pendingStart === null ? null : this.playAtMs(this.pendingStart, nowMs)
    if (playAtMs !== null) due.push(playAtMs)
    if (this.move !== null) due.push(this.move.untilMs)
    if (this.adoptDueMs !== null) due.push(this.adoptDueMs)
    if (this.eventDeferred) due.push(this.lastEventSentMs + this.cfg.eventMinIntervalMs)
    if (this.leader === this.nodeId && this.state !== null) due.push(this.lastAnnounceMs + this.cfg.announceIntervalMs)
    const clocksDueMs = this.clocks.nextDueMs(nowMs, this.state === null ? null : clockOf(this.state))
    if (clocksDueMs !== null) due.push(clocksDueMs)
    return due.length === 0 ? null : Math.min(...due)
  }

  private requestWake (nowMs: number, out: Action[]): void {
    let next = this.nextDueMs(nowMs)
    if (next === null) return
    next = Math.max(next, nowMs + TIMER_SLACK_MS) // never a wake that is already due: no busy loop
    if (next === this.lastWakeMs) return
    this.lastWakeMs = next
    out.push({ type: 'wake', atMs: next })
  }
}

function clamp (v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v))
}
