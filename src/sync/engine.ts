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
 *
 * This class is the dispatcher and the register; the other concerns are parts of their own, each
 * pure, each saying when it next needs a tick (docs/sync.md has the map): config.ts (every
 * constant), timeline.ts (the register's rules, the leader rule), peer-clocks.ts (offsets,
 * presence), publish.ts (events, announces, re-anchors), room-media.ts (media identity, the hold),
 * player-control.ts (starts, drift moves, re-syncs).
 */
import {
  ADOPT_PLAYING_AFTER_MS, COMMAND_SETTLE_MS, MAX_ANCHOR_AHEAD_MS, MAX_LAMPORT_AHEAD, MEDIA_WAIT_MS,
  COMMAND_RACE_MS, OS_CLOCK_RESEND_MS, RATE_RACE_MS, REFINE_WINDOW_MS, STATE_REQUEST_MIN_INTERVAL_MS, TIMER_SLACK_MS, USER_SETTLE_MS, resolveConfig,
  type EngineConfig, type SyncEngineOptions
} from './config.js'
import { compareStamps, LamportClock } from './lamport.js'
import { PeerClocks } from './peer-clocks.js'
import { RoomMedia } from './room-media.js'
import { Publisher } from './publish.js'
import { NO_RATE, PlayerControl } from './player-control.js'
import { roomPositionMs } from './output-delay.js'
import { actionKind, anchorAheadMs, clockOf, inClock, isReanchor, leaderOf, positionAt, wireState } from './timeline.js'
import { fitMedia } from './codec.js'
import { withLateLength } from './media.js'
import type {
  Action, EngineSnapshot, Input, LearntPlayer, Media, NodeId, PlaybackState,
  PlayerCommand, PlayerObservation, SyncMessage, UserAction
} from './types.js'

export class SyncEngine {
  readonly nodeId: NodeId
  private readonly cfg: EngineConfig

  private readonly lamport = new LamportClock()
  private state: PlaybackState | null = null
  private leader: NodeId | null = null
  private readonly clocks: PeerClocks

  /** A state we could not apply yet (no player reading, no offset, other media). */
  private needsSync = false
  private readonly publisher: Publisher
  private readonly control: PlayerControl

  private lastStateRequestMs = -Infinity
  /** When to make what our playing player shows the room's first state, unless one arrives first. */
  private adoptDueMs: number | null = null
  private lastWakeMs: number | null = null
  private readonly media: RoomMedia
  /** What we last told peers of our OS clock (null: nothing known of it yet). */
  private osClock: { synced: boolean, clockMinusWallMs: number } | null = null

  constructor (opts: SyncEngineOptions) {
    this.cfg = resolveConfig(opts)
    const self = this
    this.nodeId = this.cfg.nodeId
    this.clocks = new PeerClocks(this.nodeId)
    this.media = new RoomMedia(this.nodeId)
    this.publisher = new Publisher(this.cfg)
    this.control = new PlayerControl(this.cfg, {
      get state () { return self.state },
      expectedAt: (tMs, nowMs) => this.playerExpectedAt(tMs, nowMs),
      clockOffsetMs: nowMs => this.state === null ? null : this.clocks.offsetTo(clockOf(this.state), nowMs),
      refineOwnState: (nowMs, out) => this.refineOwnState(nowMs, out),
      syncPlayer: (nowMs, out) => this.syncPlayer(nowMs, out)
    })
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
      case 'os-clock': this.onOsClock(input.synced, input.clockMinusWallMs, nowMs, out); break
      case 'message': this.onMessage(input.from, input.author, input.msg, nowMs, out); break
      case 'player-status': this.onPlayerStatus(input.observed, nowMs, out); break
      case 'user': this.onUserAction(input.action, nowMs, out); break
      case 'player-attached': this.onPlayerAttached(input, nowMs, out); break
      case 'player-detached': this.control.detached(nowMs); break
      // The timer that brought this tick is spent (it may even have fired a hair early): ask again.
      case 'tick': this.lastWakeMs = null; break
    }
    // What the media part kept of a node the clocks forgot goes with it.
    for (const node of this.clocks.forgetSilent(nowMs)) this.media.peerGone(node)
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
      errorMs: this.control.lastErrorMs,
      peers: this.clocks.known().map(peer => {
        const est = this.clocks.directEstimate(peer, nowMs)
        const composed = est === null ? this.clocks.composedOffset(peer, nowMs) : null
        return {
          peer,
          offsetMs: est?.offsetMs ?? composed?.offsetMs ?? null,
          rttMs: est?.rttMs ?? composed?.rttMs ?? null,
          offsetUncertaintyMs: this.clocks.offsetUncertaintyMs(peer, nowMs),
          clockSynced: this.clocks.peerOsSynced(peer),
          direct: this.clocks.isDirect(peer)
        }
      })
    }
  }

  /**
   * The room is paused (or has no timeline yet), no command of ours is still settling and no
   * mismatch with the player is being timed: a paused player that tells of its own plays and seeks
   * need not be read often. While the room plays, a command settles, or a mismatch is timed (a
   * player that ignored us, or rests on another frame after a race), readings find and time it.
   */
  restingInStep (nowMs: number): boolean {
    return (this.state === null || !this.state.playing) && this.control.stallSinceMs === null && nowMs >= this.control.settleUntilMs
  }

  /** The learnt `play` -> running latency of the local player (for status and benchmarks). */
  get playerStartLatencyMs (): number {
    return this.control.startLatencyMs
  }

  /** All that was learnt of the local player so far, to be remembered for its kind (learnt.ts). */
  get learntPlayer (): LearntPlayer {
    return this.control.learnt
  }

  /** The learnt position jump per rate change of the local player (for status and benchmarks). */
  get playerRateJumpMs (): number {
    return this.control.rateJumpMs
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
    if (this.osClock !== null) out.push({ type: 'send', to: peer, msg: this.osClockMessage() })
  }

  private onPeerDown (peer: NodeId): void {
    this.media.peerGone(peer)
    this.clocks.down(peer)
  }

  private onClockSample (s: { peer: NodeId, t1: number, t2: number, t3: number, t4: number }, nowMs: number, out: Action[]): void {
    const beforeMs = this.expectedAt(nowMs, nowMs)
    if (!this.clocks.sample(s.peer, s, nowMs, this.onClockRestart)) return
    this.followOffsets(beforeMs, nowMs, out)
  }

  /**
   * What our OS says of our wall clock. Peers are told when that changed: synced or not, or our
   * clock minus the wall clock moved (a step of the wall clock, a sleep) by over OS_CLOCK_RESEND_MS;
   * what they were told is what offsets are narrowed with, at both ends alike.
   */
  private onOsClock (synced: boolean, clockMinusWallMs: number, nowMs: number, out: Action[]): void {
    const told = this.osClock
    if (told !== null && told.synced === synced && (!synced || Math.abs(told.clockMinusWallMs - clockMinusWallMs) <= OS_CLOCK_RESEND_MS)) return
    const beforeMs = this.expectedAt(nowMs, nowMs)
    this.osClock = { synced, clockMinusWallMs }
    this.clocks.setOwnOsClock(synced ? clockMinusWallMs : null)
    for (const peer of this.clocks.directPeers()) out.push({ type: 'send', to: peer, msg: this.osClockMessage() })
    this.followOffsets(beforeMs, nowMs, out)
  }

  private osClockMessage (): SyncMessage {
    const c = this.osClock
    if (c === null || !c.synced) return { type: 'clock-synced', synced: false }
    return { type: 'clock-synced', synced: true, clockMinusWallMs: c.clockMinusWallMs }
  }

  /** Offsets may have moved (a sample, a report, what an OS said): the player follows the timeline. */
  private followOffsets (beforeMs: number | null, nowMs: number, out: Action[]): void {
    if (this.needsSync) this.syncPlayer(nowMs, out)
    else this.followClock(beforeMs, nowMs, out)
  }

  /**
   * The offset to the timeline's clock moved (a new sample narrowed it): the timeline, as this node
   * places it, moved with it. In a fresh room the first samples are few and slow (daemons still
   * starting), so a start made on them can be tens of ms off; the player follows the better
   * estimate at once, as it follows a re-anchor, rather than waiting for a mature drift estimate.
   */
  private followClock (beforeMs: number | null, nowMs: number, out: Action[]): void {
    const afterMs = this.expectedAt(nowMs, nowMs)
    if (beforeMs === null || afterMs === null || this.state?.playing !== true) return
    this.control.clockMoved(afterMs - beforeMs, nowMs, out)
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
    const forgotten = this.clocks.heardFrom(author, nowMs)
    if (forgotten !== null) this.media.peerGone(forgotten)
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
        const beforeMs = this.expectedAt(nowMs, nowMs)
        const { known, reply, impossible } = this.clocks.receiveOffsets(from, msg.entries, nowMs, this.onClockRestart)
        if (!known) return
        if (impossible !== null) return this.reject(author, `impossible offset report (rtt ${impossible.rttMs} ms, offset ${impossible.offsetMs} ms)`, out)
        if (reply !== null) out.push({ type: 'send', to: from, msg: { type: 'offsets', entries: reply } })
        return this.followOffsets(beforeMs, nowMs, out)
      }
      case 'clock-synced': {
        // Said of the sender's own clock, to us directly: relayed, it says nothing of a link of ours.
        if (from !== author) return this.reject(author, 'relayed clock-synced', out)
        const beforeMs = this.expectedAt(nowMs, nowMs)
        if (!this.clocks.setPeerOsClock(from, msg.synced, msg.clockMinusWallMs ?? null)) return
        return this.followOffsets(beforeMs, nowMs, out)
      }
      case 'state-request':
        if (this.state !== null) this.sendState(from, nowMs, out)
        return
      case 'media-wait':
        // Only a present node's lack is kept: the media part remembers no more nodes than the clocks do.
        if (!msg.ready && !this.clocks.present(author, nowMs)) return this.reject(author, 'media-wait from a node that is not present', out)
        this.media.peerSays(author, msg.mediaId, msg.ready)
        this.considerHold(nowMs, out)
    }
  }

  private reject (peer: NodeId, reason: string, out: Action[]): void {
    out.push({ type: 'notice', notice: { kind: 'rejected', peer, reason } })
  }

  private receiveState (incoming: PlaybackState, isAnnounce: boolean, from: NodeId, author: NodeId, nowMs: number, out: Action[]): void {
    if (incoming.stamp.lamport > this.lamport.value + MAX_LAMPORT_AHEAD) {
      return this.reject(author, `lamport ${incoming.stamp.lamport} is too far ahead of everything seen`, out)
    }
    // While the clock's offset is unknown the state waits (and the driver's timers are capped anyway).
    const aheadMs = anchorAheadMs(incoming, this.clocks.offsetTo(clockOf(incoming), nowMs), nowMs)
    if (aheadMs !== null && aheadMs > MAX_ANCHOR_AHEAD_MS) {
      return this.reject(author, `state anchored ${Math.round(aheadMs / 1000)} s ahead of its clock's now (at most ${MAX_ANCHOR_AHEAD_MS / 1000} s)`, out)
    }
    this.lamport.observe(incoming.stamp.lamport)
    const s: PlaybackState = { ...incoming, clock: incoming.clock ?? incoming.stamp.nodeId }
    const cmp = this.state === null ? 1 : compareStamps(s.stamp, this.state.stamp)

    if (cmp > 0) {
      const prev = this.state
      this.state = s
      this.media.noteChange(prev, s)
      this.newStateTookOver()
      this.publisher.clearDeferred()
      if (prev !== null && prev.playing && s.playing && prev.rate !== s.rate) this.control.speedChangedElsewhere()
      if (s.stamp.nodeId !== this.nodeId) {
        out.push({ type: 'notice', notice: { kind: 'remote-action', author: s.stamp.nodeId, action: actionKind(prev, s, this.mediaMismatch() !== null), positionMs: s.positionMs, media: s.media, rate: s.rate } })
      }
      this.updateLeader(nowMs, out)
      this.syncPlayer(nowMs, out)
      return
    }

    if (cmp === 0 && this.state !== null) {
      // The same event, its file's length learnt since (see withLateLength): ours gets it too.
      const learnt = withLateLength(this.state.media, s.media)
      if (learnt !== null) {
        this.state = { ...this.state, media: learnt }
        if (this.needsSync) this.syncPlayer(nowMs, out)
      }
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
    this.control.followReanchor(afterMs - beforeMs, nowMs, out)
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
      if (leader === this.nodeId && this.state?.stamp.nodeId !== this.nodeId) this.publisher.announceAtOnce()
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

  private onPlayerAttached (input: Extract<Input, { type: 'player-attached' }>, nowMs: number, out: Action[]): void {
    this.control.attached(input.abilities, input.observed, nowMs, input.learnt)
    this.media.resetMismatchNotice()
    // The mesh starts before the player is reached: a viewer who pressed play before that, in a
    // room where nobody has acted, is already watching when the peers are there; the room takes
    // their playback as when a first peer comes up (a state that arrives meanwhile wins).
    if (this.state === null && input.observed.playing && this.clocks.directCount > 0) this.adoptDueMs ??= nowMs + ADOPT_PLAYING_AFTER_MS
    if (this.state !== null) this.syncPlayer(nowMs, out)
  }

  private onUserAction (action: UserAction, nowMs: number, out: Action[]): void {
    if (!this.cfg.canControl) return this.undoUserAction(action, nowMs, out)
    // Opening the very file the room is on is catching up with the room, not a new action (also
    // when we set the room on it: a player restarted on its file must not send everyone to 0:00).
    // Only from a file that was not the room's: from the room's own file, another one is a track
    // change even when it has the same length.
    const s = this.state
    const c = this.control
    const before = fitMedia(c.player?.observed?.media ?? null)
    if (action.kind === 'media' && s !== null && s.media !== null && !this.matchesRoom(s, before) && this.matchesRoom(s, fitMedia(action.observed.media))) {
      if (c.player === null) c.player = { abilities: NO_RATE, observed: action.observed, rate: action.observed.rate }
      c.player.observed = action.observed
      this.syncPlayer(nowMs, out)
      return
    }
    // A play/pause the reading contradicts was overtaken by a command of ours still in flight:
    // the user's intent wins, and the player is put back to it.
    // Likewise a seek or rate change read while our scheduled start held the player paused.
    const heldByUs = c.pendingStart !== null
    const intended = action.kind === 'play' ? true : action.kind === 'pause' ? false : action.observed.playing || heldByUs
    // A play or pause of ours the reading predates, which will land after this action and undo it:
    // an opposite play/pause is commanded again (overtaken); after a seek (or speed change) the
    // player is put on the new state right after it (raced, below).
    const sentPlaying = c.lastPlayingCommand
    // Our pause seeks too: landing after a viewer's seek while paused, it puts the player back where
    // we sent it (seen in a chaos run: left 45 s off, paused, for 3 s until the stall check).
    const oursLands = sentPlaying !== null && nowMs - sentPlaying.atMs < COMMAND_RACE_MS &&
      (sentPlaying.playing !== intended || (!sentPlaying.playing && action.kind === 'seek'))
    const overtaken = intended !== action.observed.playing || ((action.kind === 'play' || action.kind === 'pause') && oursLands)
    const racedCommand = !overtaken && action.kind !== 'play' && action.kind !== 'pause' && oursLands
    // A viewer's play read playing while our pause is still landing: that pause seeks (a start of
    // ours), and a `play` sent now runs from where it seeks to, not from where the viewer pressed
    // play (seen in the simulator: two viewers pressing play 80 ms apart left the second 135 ms
    // ahead of its own timeline for seconds). A start puts the player on the viewer's timeline.
    // Likewise a viewer's seek read while our start's seek is still landing (the player shows that
    // seek's target, not the frame it will rest on: mpv lands on the first frame at or after it, up
    // to 40 ms on): a `play` now ran from that frame, up to a frame ahead of the state published
    // from the target (seen in the simulator: 34 ms for 3 s).
    const pauseLands = overtaken && intended && (action.observed.playing || action.observed.seeking === true) && sentPlaying !== null && !sentPlaying.playing
    c.lastPlayingCommand = null
    const obs = overtaken ? { ...action.observed, playing: intended } : action.observed
    if (c.player === null) c.player = { abilities: NO_RATE, observed: obs, rate: obs.rate }
    c.player.observed = obs
    const prev = this.state
    // Only a rate action changes the room's rate; anything else keeps it (the reading may show a
    // nudge of ours, or one still landing).
    const rate = action.kind === 'rate' || prev === null ? obs.rate : prev.rate
    const offRate = c.player !== null && c.player.rate !== rate
    // The viewer's own speed change goes on at the old rate until it takes effect (mpv: ~0.3 s):
    // the timeline at the new rate is the one the player is on from then on. Not in a player our
    // start held paused (its `play`, sent now, runs at the new rate from the start): taken for a
    // run-on, a 0.75 -> 1.5x change made there put the timeline 225 ms behind its own player.
    const ownRateChange = action.kind === 'rate' && action.observed.playing && action.observed.rate !== c.player.rate
    const priorRate = c.player.rate
    const takesEffectMs = ownRateChange ? c.rateTakesEffectMs() : 0
    const waits = this.cfg.initiatorWaits && obs.playing && (action.kind === 'play' || action.kind === 'seek')
    // Waiting: the timeline starts at T from where the player is now; we hold the player till then.
    // A playing player's reading lags the truth by a frame phase or a stale refresh: add what the
    // first reading after a jump typically lags, so the others follow where this player is rather
    // than where it was read.
    // A play the reading contradicts (our start's pause held the player) is the `play` we send now:
    // the player runs from the frame it rests on (exact, not a lagging reading) from then, less its
    // start latency (mpv jumps a frame ahead), not from when it was read.
    const playsNow = intended && !action.observed.playing && !waits
    // A resume or seek on a player the layer fits itself (VLC) lands off its first reading in its own
    // way: as far as sure fits after such actions showed (learnt by the re-anchor, refineOwnState).
    const fitted = obs.playing && !playsNow && !waits && obs.uncertaintyMs !== undefined && (action.kind === 'play' || action.kind === 'seek')
      ? { kind: action.kind, shiftMs: c.ownShiftMs(action.kind) }
      : null
    const readMs = obs.positionMs + (obs.playing && !playsNow ? c.track.freshReadingLagMs * (ownRateChange ? priorRate : obs.rate) : 0) + (fitted?.shiftMs ?? 0)
    // A player running ahead for the output delay shows the room's position plus that; a pause
    // stops it where the viewer heard it, and the player is put on that frame like everyone's.
    const aheadOfRoom = obs.playing || (action.kind === 'pause' && prev?.playing === true)
    const roomReadMs = roomPositionMs(readMs, this.cfg.outputDelayMs, aheadOfRoom, obs.rate)
    const positionMs = (waits ? roomReadMs + Math.max(0, nowMs - obs.atMs) * obs.rate : roomReadMs) - takesEffectMs * (rate - priorRate)
    // Our copy of the room's film keeps the room's name for it: only a track change renames it.
    const ours = fitMedia(obs.media)
    const media = action.kind !== 'media' && prev !== null && this.matchesRoom(prev, ours) ? prev.media : ours
    this.state = {
      media,
      playing: obs.playing,
      positionMs: Math.max(0, positionMs),
      atMs: waits ? nowMs + this.sharedLeadMs(nowMs) : playsNow ? nowMs + c.startLatencyMs : obs.atMs,
      rate,
      stamp: this.lamport.next(this.nodeId),
      clock: this.nodeId
    }
    this.media.noteChange(prev, this.state)
    c.pendingStart = null
    this.newStateTookOver()
    this.needsSync = false
    this.media.resetMismatchNotice()
    c.stallSinceMs = null
    c.settleUntilMs = nowMs + USER_SETTLE_MS
    this.publisher.ownAction(nowMs, obs.playing, waits, fitted)
    if (offRate && action.kind !== 'rate') c.commandRate(rate, nowMs, out)
    // A rate command of ours sent just before may land after the viewer's change and undo it.
    const raced = action.kind === 'rate' && nowMs - c.lastRateCommandAtMs < RATE_RACE_MS
    c.player.rate = rate
    c.move = null
    c.resetTrack(nowMs)
    // The change happened up to a notice's lag before we read it: the track starts once it surely
    // took effect (the re-anchor then finds where the player really is).
    if (takesEffectMs > 0) {
      c.track.quietUntil(obs.atMs + takesEffectMs)
      c.ownSpeedChanged(obs.atMs + takesEffectMs)
    }
    // The reading it was published from is the track's first (how much such a reading lags is learnt from it).
    else if (action.observed.playing && !waits) c.track.add(obs.atMs, obs.positionMs, obs.uncertaintyMs)

    if (raced) c.commandRate(rate, nowMs, out)
    if (pauseLands) c.scheduleStart(nowMs, out)
    else if (overtaken) c.command(intended ? { op: 'play' } : { op: 'pause', positionMs: this.state.positionMs }, nowMs, out)
    else if (racedCommand && !intended) c.command({ op: 'pause', positionMs: this.state.positionMs }, nowMs, out)
    else if (!obs.playing && this.state.positionMs !== obs.positionMs && this.cfg.outputDelayMs > 0) c.command({ op: 'pause', positionMs: this.state.positionMs }, nowMs, out)
    // Our pause (and its seek) may land anywhere around the viewer's seek: a start on the new state
    // puts the player where the viewer sent it, playing, whatever landed last.
    if (waits || (racedCommand && intended)) c.scheduleStart(nowMs, out)
    if (this.publisher.eventNowOrDefer(nowMs)) this.sendEvent(nowMs, out)
    if (action.kind === 'media') this.media.newTrack()
    this.considerHold(nowMs, out)
  }

  /**
   * A new state took over: what was tied to the old timeline goes (a start is judged against the
   * timeline it was made for; a hold was for the state that made it).
   */
  private newStateTookOver (): void {
    this.control.forgetStartChecks()
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
      this.control.pendingStart = null
      this.control.command({ op: 'pause', positionMs }, nowMs, out)
      this.control.settleUntilMs = nowMs + COMMAND_SETTLE_MS
      out.push({ type: 'notice', notice: { kind: 'waiting', peers: decision.waitingFor, media: s.media, untilMs: decision.untilMs } })
      this.sendEvent(nowMs, out)
      return
    }
    // Resume together: a shared start far enough ahead for everyone to hear of it and get ready.
    this.state = { ...s, playing: true, atMs: nowMs + this.sharedLeadMs(nowMs), stamp: this.lamport.next(this.nodeId), clock: this.nodeId }
    out.push({ type: 'notice', notice: { kind: 'wait-over', timedOut: decision.timedOut, peers: decision.waitingFor } })
    this.sendEvent(nowMs, out)
    this.publisher.stopRefining()
    this.control.scheduleStart(nowMs, out)
  }

  /** How far ahead a shared start must be for every peer to hear of it and get ready. */
  private sharedLeadMs (nowMs: number): number {
    return Math.max(this.cfg.minLeadMs, this.cfg.leadRttFactor * this.clocks.maxRttMs(nowMs) + this.control.seekLeadMs + Math.max(0, this.control.startLatencyMs))
  }

  private sendEvent (nowMs: number, out: Action[]): void {
    this.publisher.clearDeferred()
    if (this.state === null || this.state.stamp.nodeId !== this.nodeId) return
    this.publisher.eventSent(nowMs)
    const { clock: _clock, ...event } = this.state.clock === this.nodeId ? this.state : this.stateInClock(this.nodeId, nowMs) ?? this.state
    out.push({ type: 'broadcast', msg: { type: 'event', state: event } })
  }

  private mediaMismatch (): { theirs: Media | null, ours: Media | null } | null {
    return this.media.mismatch(this.state, fitMedia(this.control.player?.observed?.media ?? null))
  }

  private matchesRoom (s: PlaybackState, media: Media | null): boolean {
    return this.media.matches(s, media)
  }

  /** Brings the player to the state: at once when paused, by a scheduled start when playing. */
  private syncPlayer (nowMs: number, out: Action[]): void {
    const s = this.state
    const p = this.control.player
    if (s === null) return
    if (p === null || p.observed === null) {
      this.needsSync = true
      return
    }
    const mismatch = this.mediaMismatch()
    this.media.tell(s, fitMedia(p.observed.media), mismatch, out)
    if (mismatch !== null) {
      this.needsSync = true
      this.control.pendingStart = null
      return
    }
    // Playing on a clock we have no offset to (reachable only through others): ask the nearest
    // neighbour for the state on its own clock, which we can convert (the rate is followed meanwhile).
    this.needsSync = !this.control.apply(nowMs, out)
    if (this.needsSync) this.requestStateNearby(nowMs, out)
  }

  private requestStateNearby (nowMs: number, out: Action[]): void {
    if (nowMs - this.lastStateRequestMs < STATE_REQUEST_MIN_INTERVAL_MS) return
    const nearest = this.clocks.nearest(nowMs)
    if (nearest === null) return
    this.lastStateRequestMs = nowMs
    out.push({ type: 'send', to: nearest, msg: { type: 'state-request' } })
  }

  private onPlayerStatus (obs: PlayerObservation, nowMs: number, out: Action[]): void {
    const p = this.control.player
    if (p === null) return
    const mediaBefore = p.observed?.media?.id ?? null
    p.observed = obs
    if (this.state === null) return
    this.learnOwnLength(obs)
    if ((obs.media?.id ?? null) !== mediaBefore) this.needsSync = true // another file: look again
    if (this.needsSync) return this.syncPlayer(nowMs, out)
    this.control.reading(obs, nowMs, out)
  }

  /**
   * Our own state named a file before the player knew its length: it takes the length when the
   * player shows it, so a copy with another name matches it (its next announce and every answer to
   * a newcomer carry it; receivers of the same stamp take it, see receiveState).
   */
  private learnOwnLength (obs: PlayerObservation): void {
    const s = this.state
    if (s === null || s.stamp.nodeId !== this.nodeId) return
    const learnt = withLateLength(s.media, fitMedia(obs.media))
    if (learnt !== null) this.state = { ...s, media: learnt }
  }

  /**
   * Our own playing action was published from one fresh reading; once the track knows better, the
   * state is re-anchored where the player really is (see REFINE_WINDOW_MS): the same stamp (it is
   * the same action, and a new stamp could override someone's concurrent one), a later anchor, as
   * an announce. The others shift along (followReanchor); our player is left alone. True if moved.
   */
  private refineOwnState (nowMs: number, out: Action[]): boolean {
    const s = this.state
    if (s === null) return false
    const ours = s.playing && s.stamp.nodeId === this.nodeId && clockOf(s) === this.nodeId
    const expectedMs = ours ? this.playerExpectedAt(nowMs, nowMs) : null
    const toMs = this.publisher.refineTo(nowMs, ours, this.control.track, expectedMs)
    // A sure fit shows where a fitted player's own action really landed: learnt for the next.
    const shown = this.publisher.takeShownShift()
    if (shown !== null) this.control.learnOwnShift(shown.kind, shown.shiftMs)
    if (toMs === null) return false
    this.state = { ...s, positionMs: Math.max(0, roomPositionMs(toMs, this.cfg.outputDelayMs, true, s.rate)), atMs: nowMs, clock: this.nodeId }
    this.control.lastErrorMs = 0
    this.publisher.announceSent(nowMs)
    out.push({ type: 'broadcast', msg: { type: 'announce', state: wireState(this.state), leader: this.nodeId } })
    return true
  }

  /**
   * Where the local player should be at local time `tMs`: the timeline, ahead by the output delay
   * while playing (it shows now what the room shows `outputDelayMs` later). Null as expectedAt.
   */
  private playerExpectedAt (tMs: number, nowMs: number): number | null {
    return this.expectedAt(this.state?.playing === true ? tMs + this.cfg.outputDelayMs : tMs, nowMs)
  }

  /**
   * Managed room, no operator here: the action makes no state. The player is brought back to the
   * room's state as if it had drifted off (a pause is followed by a scheduled start on the room's
   * timeline), and the user is told why. Without a state yet there is nothing to go back to.
   */
  private undoUserAction (action: UserAction, nowMs: number, out: Action[]): void {
    const c = this.control
    if (c.player === null) c.player = { abilities: NO_RATE, observed: action.observed, rate: action.observed.rate }
    c.player.observed = action.observed
    out.push({ type: 'notice', notice: { kind: 'undone', action: action.kind } })
    c.pendingStart = null
    this.syncPlayer(nowMs, out)
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
    this.control.runDue(tickMs, dueByMs, out)
    if (this.adoptDueMs !== null && dueByMs >= this.adoptDueMs) {
      this.adoptDueMs = null
      const obs = this.control.player?.observed ?? null
      // As if the viewer had pressed play where they are: the others follow, this player is left be.
      if (this.state === null && obs !== null && obs.playing && this.cfg.canControl) {
        this.onUserAction({ kind: 'play', observed: obs }, tickMs, out)
        this.updateLeader(tickMs, out)
      }
    }
    if (this.publisher.eventDue(dueByMs)) this.sendEvent(tickMs, out)
    if (this.leader === this.nodeId && this.state !== null && this.publisher.announceDue(dueByMs)) {
      this.publisher.announceSent(tickMs)
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
    const controlDueMs = this.control.nextDueMs(nowMs)
    if (controlDueMs !== null) due.push(controlDueMs)
    if (this.adoptDueMs !== null && this.state === null) due.push(this.adoptDueMs)
    const publishDueMs = this.publisher.nextDueMs(this.leader === this.nodeId && this.state !== null)
    if (publishDueMs !== null) due.push(publishDueMs)
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
