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
import { compareStamps, LamportClock, stampKey } from './lamport.js'
import { OffsetEstimator } from './offset.js'
import { PlayerTrack, ROUGH_READINGS } from './player-track.js'
import { fitMedia } from './codec.js'
import { MAX_LEFT_MEDIA, sameMedia } from './media.js'
import type {
  Action, EngineSnapshot, Input, Media, NodeId, PlaybackState, PlayerAbilities,
  PlayerCommand, PlayerObservation, SyncMessage, UserAction
} from './types.js'

/** The leader re-announces this often: a joiner waits at most this long; ~190 B each, ~95 B/s. */
export const ANNOUNCE_INTERVAL_MS = 2000
/**
 * Time for a seek to land and be read back before the scheduled start: mpv lands 2-4 ms after
 * SetPosition while paused, and the daemon reads the player 50 ms after a command; the start is
 * then re-timed to the frame the seek really landed on.
 */
export const SEEK_LEAD_MS = 60
/**
 * First guess of the start latency: how long after `play` the player runs at the position it was
 * paused on (negative: it jumps ahead). mpv shows the next frame at once, so it resumes one frame
 * ahead of its paused frame: -40 ms at 25 fps (measured 38-42 ms with null outputs). Learnt per
 * player; other frame rates and players differ by a few ms to tens of ms.
 */
export const START_LATENCY_MS = -40
/** Learnt start latency stays within this; beyond it the player is broken, not slow. */
export const MAX_START_LATENCY_MS = 500
/** ...and above this (a player that jumps further ahead than this on play is not resuming). */
export const MIN_START_LATENCY_MS = -250
/** Share of a measured start error folded into the learnt latency (converges in a few starts). */
export const START_LATENCY_GAIN = 0.8
/** ...and at most this much per start, so one odd start cannot throw it far. */
export const MAX_START_LATENCY_STEP_MS = 100
/** Rate nudges stay within ±5 %: no audible pitch jump with pitch correction... */
export const MAX_RATE_NUDGE = 0.05
/**
 * ...and a small move is made shorter rather than gentler than this: mpv's jump per rate change
 * (below) is ~3.5 ms for changes of 1 % or more, but ~12 ms for changes of 0.1 % or less.
 */
export const MIN_RATE_NUDGE = 0.01
/** A drift error above this starts a move (below: measurement noise and the jumps' spread)... */
export const NUDGE_START_MS = 6
/**
 * ...and above this share of the player's reading lag: a player whose readings are stale by up to
 * 0.5 s (VLC) is known to tens of ms only, and a move on noise is a move in a random direction.
 */
export const NUDGE_START_LAG_SHARE = 0.15
/** A move smaller than this is not worth two rate changes. */
export const NUDGE_STOP_MS = 2
/**
 * mpv 0.35 jumps ahead when its speed changes (its default scaletempo filter; not with
 * scaletempo2, nor without audio): 2.6-4.1 ms per change to or from a rate 1-5 % off 1 (measured
 * 3.5 on average), 9-15 ms for changes of 0.1 % or less. A move is two changes, so it is planned
 * with them: first guess this, then learnt per player from what each move really did.
 */
export const RATE_JUMP_MS = 3.5
/** Share of a measured jump folded into the learnt one, and the bound on it. */
export const RATE_JUMP_GAIN = 0.5
export const MAX_RATE_JUMP_MS = 60
/**
 * A scheduled start is checked on this many readings right after it (the mature track takes
 * seconds; a start that clearly missed should be known, and mended, within a fraction of one).
 */
export const START_CHECK_READINGS = 2
/**
 * A start that missed the timeline by more than this, beyond what so few readings can tell (twice
 * the fresh-reading lag: a frame for mpv), is redone once, at once, with the latency learnt from
 * the miss. The usual case is the first start of a player unlike mpv, whose latency is still the
 * default guess. Smaller misses are left to the mature track: they teach the latency precisely,
 * and a move mends them without a visible re-start.
 */
export const START_REDO_MS = 25
/** A move works its error off over about this long (the nudge is error / this, within bounds). */
export const NUDGE_TIME_CONSTANT_MS = 500
/** Beyond this error a re-sync beats minutes of nudging (5 % for 20 s). */
export const SEEK_CORRECTION_MS = 1000
/** Without Rate, a re-sync once more than a frame off (25 fps): the track is good to a few ms. */
export const SEEK_CORRECTION_NO_RATE_MS = 50
/** A player playing within this of the timeline is "in step": nudge, do not re-sync. */
export const IN_STEP_MS = 50
export const IN_STEP_NO_RATE_MS = 40
/** ...judged from a single reading (no mature track): looser, a reading may lag a frame or more. */
export const IN_STEP_COARSE_MS = 60
/** Corrective re-syncs are at least this far apart: never a pause/resume loop. */
export const CORRECTION_COOLDOWN_MS = 10_000
/** A player reading another rate than ours this long is asked again (a command got lost in a race). */
export const RATE_MISMATCH_MS = 1000
/** A player that should play but stays paused (or the reverse) this long is re-synced. */
export const STALL_MS = 2000
/** A paused player this far from the paused position is on another frame (SetPosition lands -2..+33 ms). */
export const PAUSED_TOLERANCE_MS = 50
/** No drift judgement this long after a user action (the player is still settling). */
export const USER_SETTLE_MS = 1000
/** ...nor this long after a scheduled start (frame steps and stale readings right after play). */
export const START_SETTLE_MS = 300
/** ...nor this long after a pause/seek we commanded. */
export const COMMAND_SETTLE_MS = 500
/**
 * The author of a playing state published it from one fresh reading (mpv: the shown frame's time,
 * 0-40 ms behind; more after a seek). Once its track knows better it re-anchors the state where its
 * player really is: from the track's rough estimate (ROUGH_READINGS), and once more when the track
 * is mature, within this long of the action (later errors are drift, mended by moves)...
 */
export const REFINE_WINDOW_MS = 10_000
/** ...each time only if the timeline moves by at least this much (each move costs the others a move)... */
export const REFINE_MIN_MS = 5
/** ...and from a rough estimate only if a fresh reading lags less than this (VLC's lag half a second). */
export const ROUGH_REFINE_MAX_LAG_MS = 100
/**
 * A player whose readings lag more than this (VLC: a value refreshed every 0.5 s) needs its whole
 * window for a usable estimate: after a move its track is shifted by the expected jumps rather
 * than started again (and its jump is not learnt: it cannot be seen through such readings).
 */
export const COARSE_READING_LAG_MS = 100
/**
 * When someone moves to another file that a present viewer lacks, the leader holds the room
 * (paused) for them at most this long: enough to find and open a file, never an endless wait.
 */
export const MEDIA_WAIT_MS = 30_000
/**
 * A room where nobody has acted yet has no timeline. A viewer already watching (player playing)
 * when a first peer comes up gives it one, so a newcomer lands where they are: after this long
 * without a state (a room that has one answers the newcomer's state request within a round trip).
 */
export const ADOPT_PLAYING_AFTER_MS = 1000
/** Local events are sent at most this often; a burst ends with its last state. */
export const EVENT_MIN_INTERVAL_MS = 100
/** A node heard through relayed messages counts as present this long (three announces). */
export const PRESENCE_TTL_MS = 3 * ANNOUNCE_INTERVAL_MS
/** How often offsets are exchanged while some node is reachable only through others. */
export const OFFSETS_INTERVAL_MS = 10_000
/** Offsets a neighbour reported are used this long. */
export const REPORTED_OFFSET_TTL_MS = 3 * OFFSETS_INTERVAL_MS
/** Slack on a reported offset's move before it counts as a jump (drift between two reports). */
export const REPORTED_JUMP_MARGIN_MS = 20
/** Asking a neighbour for a state we cannot place on our clock at most this often. */
export const STATE_REQUEST_MIN_INTERVAL_MS = 1000
/** Answering a stale state with ours at most this often per peer. */
export const REPAIR_MIN_INTERVAL_MS = 1000
/** A timer due within this is run now (timers fire a hair early, clock conversions round). */
export const TIMER_SLACK_MS = 1
/** Offset estimators kept for peers that left (a room is far smaller). */
export const MAX_DEPARTED_PEERS = 64
/** A stamp this far ahead of everything seen is garbage, not history (it would freeze the order). */
export const MAX_LAMPORT_JUMP = 1_000_000
/**
 * Nodes remembered by what they said (heard, lacking media) at most: a room is 32 viewers; a
 * member vouching for invented ones cannot make us remember more than this.
 */
export const MAX_KNOWN_NODES = 256
/**
 * A state anchored further ahead of its author's now than this is refused: a scheduled start is
 * a lead of tens to hundreds of ms ahead; a month ahead would only stall every timer.
 */
export const MAX_ANCHOR_AHEAD_MS = 60_000
/**
 * Reported round trips below this are impossible (loopback through two network stacks measures
 * ~0.13 ms) and would win every composed-offset choice; above the upper bound they are no sample.
 */
export const MIN_REPORTED_RTT_MS = 0.05
export const MAX_REPORTED_RTT_MS = 60_000
/** Composed paths needed before a lying neighbour is outvoted (the median of them is taken). */
export const MIN_PATHS_FOR_MEDIAN = 3

export interface SyncEngineOptions {
  nodeId: NodeId
  announceIntervalMs?: number
  seekLeadMs?: number
  /** Initial start latency guess; learnt afterwards. */
  startLatencyMs?: number
  maxRateNudge?: number
  nudgeStartMs?: number
  nudgeStopMs?: number
  seekCorrectionMs?: number
  seekCorrectionNoRateMs?: number
  eventMinIntervalMs?: number
  /** A move works its error off over about this long (tiny: always the full nudge, as Syncplay does). */
  nudgeTimeConstantMs?: number
  /** First guess of the position jump per rate change (learnt afterwards). */
  rateJumpMs?: number
  /**
   * The initiator of a play/seek holds its own player and starts with everyone at a shared T,
   * instead of playing on at once while the others catch up (the default; see docs/sync.md).
   */
  initiatorWaits?: boolean
  /** With `initiatorWaits`: T is at least this far ahead, and at least `leadRttFactor` x the largest RTT. */
  minLeadMs?: number
  leadRttFactor?: number
}

interface DirectPeer {
  name: string | null
  estimator: OffsetEstimator
  lastRepairMs: number
  lastOffsetsSentMs: number
}

interface ReportedOffsets {
  entries: Map<NodeId, { offsetMs: number, rttMs: number }>
  atMs: number
}

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
  private readonly announceIntervalMs: number
  private readonly seekLeadMs: number
  private readonly maxRateNudge: number
  private readonly nudgeStartMs: number
  private readonly nudgeStopMs: number
  private readonly seekCorrectionMs: number
  private readonly seekCorrectionNoRateMs: number
  private readonly eventMinIntervalMs: number
  private readonly nudgeTimeConstantMs: number
  private readonly initiatorWaits: boolean
  private readonly minLeadMs: number
  private readonly leadRttFactor: number

  private readonly lamport = new LamportClock()
  private state: PlaybackState | null = null
  private leader: NodeId | null = null
  private readonly peers = new Map<NodeId, DirectPeer>()
  /** Authors heard through messages (direct or relayed), by last local time heard. */
  private readonly heard = new Map<NodeId, number>()
  private readonly reported = new Map<NodeId, ReportedOffsets>()
  /** Estimators of peers that went away: a hand-over converts from them, a reconnect resumes them. */
  private readonly departed = new Map<NodeId, OffsetEstimator>()

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
  private mismatchNoticed: string | null = null
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
  private lastOffsetsRoundMs = -Infinity
  /**
   * What we report changed in kind since it was last sent (a peer came or went, a clock jumped, a
   * clock we awaited was measured): the neighbours holding our last report get the new one at once.
   */
  private offsetsChanged = false
  private lastStateRequestMs = -Infinity
  /** When to make what our playing player shows the room's first state, unless one arrives first. */
  private adoptDueMs: number | null = null
  private lastWakeMs: number | null = null
  /** The media id of the current state that our player lacks and that we told the room so. */
  private toldLackingMediaId: string | null = null
  /** Media ids the room moved on from (a track change), oldest first: see media.ts. */
  private readonly leftMedia = new Set<string>()
  /** The pair of names last said to be taken as one film (said once). */
  private aliasNoticed: string | null = null
  /** Peers that said their player lacks this media id. */
  private readonly lacking = new Map<NodeId, string>()
  /** The room is held for a media id until `untilMs`; `heldFor` stops a second hold for the same media. */
  private hold: { mediaId: string, untilMs: number } | null = null
  private heldFor: string | null = null

  constructor (opts: SyncEngineOptions) {
    this.nodeId = opts.nodeId
    this.announceIntervalMs = opts.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS
    this.seekLeadMs = opts.seekLeadMs ?? SEEK_LEAD_MS
    this.startLatencyMs = opts.startLatencyMs ?? START_LATENCY_MS
    this.maxRateNudge = opts.maxRateNudge ?? MAX_RATE_NUDGE
    this.nudgeStartMs = opts.nudgeStartMs ?? NUDGE_START_MS
    this.nudgeStopMs = opts.nudgeStopMs ?? NUDGE_STOP_MS
    this.seekCorrectionMs = opts.seekCorrectionMs ?? SEEK_CORRECTION_MS
    this.seekCorrectionNoRateMs = opts.seekCorrectionNoRateMs ?? SEEK_CORRECTION_NO_RATE_MS
    this.eventMinIntervalMs = opts.eventMinIntervalMs ?? EVENT_MIN_INTERVAL_MS
    this.nudgeTimeConstantMs = opts.nudgeTimeConstantMs ?? NUDGE_TIME_CONSTANT_MS
    this.rateJumpMs = opts.rateJumpMs ?? RATE_JUMP_MS
    this.initiatorWaits = opts.initiatorWaits ?? false
    this.minLeadMs = opts.minLeadMs ?? 0
    this.leadRttFactor = opts.leadRttFactor ?? 1
  }

  handle (input: Input, nowMs: number): Action[] {
    const out: Action[] = []
    switch (input.type) {
      case 'peer-up': this.onPeerUp(input.peer, input.name ?? null, nowMs, out); break
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
    this.forgetSilent(nowMs)
    this.updateLeader(nowMs, out)
    this.runDue(nowMs, out)
    this.requestWake(nowMs, out)
    return out
  }

  snapshot (nowMs: number): EngineSnapshot {
    const ids = new Set<NodeId>([...this.peers.keys(), ...this.heard.keys()])
    ids.delete(this.nodeId)
    return {
      nodeId: this.nodeId,
      leader: this.leader,
      state: this.state === null ? null : { ...this.state },
      expectedPositionMs: this.expectedAt(nowMs, nowMs),
      errorMs: this.lastErrorMs,
      peers: [...ids].sort().map(peer => {
        const direct = this.peers.get(peer)
        const est = direct?.estimator.estimate(nowMs) ?? null
        const composed = est === null ? this.composedOffset(peer, nowMs) : null
        return {
          peer,
          offsetMs: est?.offsetMs ?? composed?.offsetMs ?? null,
          rttMs: est?.rttMs ?? composed?.rttMs ?? null,
          direct: direct !== undefined
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

  private onPeerUp (peer: NodeId, name: string | null, nowMs: number, out: Action[]): void {
    if (peer === this.nodeId) return
    // A peer that comes back may be the same process (its clock unchanged) or a restarted one (a
    // new clock origin): keep what we knew, but let the first disagreeing sample replace it.
    const estimator = this.peers.get(peer)?.estimator ?? this.departed.get(peer) ?? new OffsetEstimator()
    this.departed.delete(peer)
    // Still up (a new connection without a drop seen): its entry goes from our report until measured.
    if (this.peers.has(peer) && reportable(estimator)) this.offsetsChanged = true
    // A timeline held on its old clock goes onto ours while that clock is still known (its next
    // sample may show a new process, with a clock that began again).
    if (this.state !== null && this.clockOf(this.state) === peer) this.state = this.stateInClock(this.nodeId, nowMs)
    estimator.expectJump()
    this.peers.set(peer, { name, estimator, lastRepairMs: -Infinity, lastOffsetsSentMs: -Infinity })
    this.heard.set(peer, nowMs)
    // The leader tells a newcomer at once; anyone else asks (after a network drop the room may have
    // moved on, and the leader may be reachable only through others). Stale answers get repaired.
    if (this.state !== null && this.computeLeader(nowMs) === this.nodeId) this.sendState(peer, nowMs, out)
    else out.push({ type: 'send', to: peer, msg: { type: 'state-request' } })
    if (this.state === null) this.adoptDueMs ??= nowMs + ADOPT_PLAYING_AFTER_MS
    // `media-wait` is said on change: a newcomer (or an author back as a new process) would
    // otherwise never learn that we still lack the room's file.
    if (this.toldLackingMediaId !== null) {
      out.push({ type: 'send', to: peer, msg: { type: 'media-wait', mediaId: this.toldLackingMediaId, ready: false } })
    }
  }

  private onPeerDown (peer: NodeId): void {
    this.lacking.delete(peer)
    const gone = this.peers.get(peer)
    if (gone !== undefined) {
      if (reportable(gone.estimator)) this.offsetsChanged = true
      this.departed.delete(peer)
      this.departed.set(peer, gone.estimator)
      // Oldest first: forget the longest gone beyond the bound.
      for (const old of this.departed.keys()) {
        if (this.departed.size <= MAX_DEPARTED_PEERS) break
        this.departed.delete(old)
      }
    }
    this.peers.delete(peer)
    this.heard.delete(peer)
    this.reported.delete(peer)
  }

  private onClockSample (s: { peer: NodeId, t1: number, t2: number, t3: number, t4: number }, nowMs: number, out: Action[]): void {
    const peer = this.peers.get(s.peer)
    if (peer === undefined) return
    const before = this.offsetTo(s.peer, nowMs)
    const wasReportable = reportable(peer.estimator)
    const verdict = peer.estimator.add(s, nowMs)
    if (verdict === 'jump') this.clockJumped(s.peer, before)
    if (verdict === 'jump' || reportable(peer.estimator) !== wasReportable) this.offsetsChanged = true
    if (this.needsSync) this.syncPlayer(nowMs, out)
  }

  /**
   * A node's clock jumped (its process restarted: a new monotonic origin), or may have. If the
   * timeline is on that clock, move it to ours first, with the offset from before, so it stays put.
   */
  private clockJumped (node: NodeId, offsetBeforeMs: number | null): void {
    const s = this.state
    if (s === null || this.clockOf(s) !== node || offsetBeforeMs === null) return
    this.state = { ...s, atMs: s.atMs - offsetBeforeMs, clock: this.nodeId }
  }

  /** Peer clock minus ours, direct or composed through one neighbour; null when unknown. */
  private offsetTo (node: NodeId, nowMs: number): number | null {
    if (node === this.nodeId) return 0
    const direct = this.peers.get(node)?.estimator
    // Back after a drop, perhaps as a new process: nothing is read on its clock until a sample says.
    if (direct?.awaitingSample === true) return null
    const est = direct?.estimate(nowMs)
    if (est != null) return est.offsetMs
    const composed = this.composedOffset(node, nowMs)
    if (composed !== null) return composed.offsetMs
    // Gone, but its clock may still carry the timeline until the hand-over: project the last fit.
    return this.departed.get(node)?.estimate(nowMs)?.offsetMs ?? null
  }

  /**
   * The offset to `node` through a neighbour's report: the lowest-delay path, unless enough paths
   * exist to outvote a neighbour that lies about its hop (then the median path by offset).
   */
  private composedOffset (node: NodeId, nowMs: number): { offsetMs: number, rttMs: number } | null {
    const paths: Array<{ offsetMs: number, rttMs: number }> = []
    for (const [via, rep] of this.reported) {
      if (nowMs - rep.atMs > REPORTED_OFFSET_TTL_MS) continue
      const hop = rep.entries.get(node)
      const first = this.peers.get(via)?.estimator.estimate(nowMs)
      if (hop === undefined || first == null) continue
      paths.push({ offsetMs: first.offsetMs + hop.offsetMs, rttMs: first.rttMs + hop.rttMs })
    }
    return choosePath(paths)
  }

  private present (node: NodeId, nowMs: number): boolean {
    if (node === this.nodeId || this.peers.has(node)) return true
    const heardMs = this.heard.get(node)
    return heardMs !== undefined && nowMs - heardMs <= PRESENCE_TTL_MS
  }

  /** Drops relayed-only nodes not heard for a while (they left, or the path to them did). */
  private forgetSilent (nowMs: number): void {
    for (const [node, atMs] of this.heard) {
      if (!this.peers.has(node) && nowMs - atMs > PRESENCE_TTL_MS) {
        this.heard.delete(node)
        this.reported.delete(node)
        this.lacking.delete(node)
        // When it is heard again it may be a new process with a new clock: old reports would lie.
        this.forgetReportedOffsets(node)
      }
    }
  }

  /**
   * Notes when an author was heard, in a map bounded by MAX_KNOWN_NODES: past it, the relayed-only
   * node heard longest ago is forgotten (direct peers are bounded by the mesh and always kept).
   */
  private rememberHeard (author: NodeId, nowMs: number): void {
    this.heard.delete(author)
    this.heard.set(author, nowMs)
    if (this.heard.size <= MAX_KNOWN_NODES) return
    for (const node of this.heard.keys()) {
      if (this.peers.has(node)) continue
      this.heard.delete(node)
      this.reported.delete(node)
      this.lacking.delete(node)
      this.forgetReportedOffsets(node)
      return
    }
  }

  private forgetReportedOffsets (node: NodeId): void {
    for (const rep of this.reported.values()) rep.entries.delete(node)
  }

  /**
   * Our offsets to direct peers, for neighbours to compose through. A peer back after a drop is left
   * out until its first sample: its estimate is for a clock that may have begun again.
   */
  private ownOffsets (nowMs: number): Array<{ peer: NodeId, offsetMs: number, rttMs: number }> {
    const entries: Array<{ peer: NodeId, offsetMs: number, rttMs: number }> = []
    for (const [peer, p] of this.peers) {
      const est = reportable(p.estimator) ? p.estimator.estimate(nowMs) : null
      if (est !== null) entries.push({ peer, offsetMs: est.offsetMs, rttMs: est.rttMs })
    }
    return entries
  }

  /** True when some node that matters is reachable only through others. */
  private needsComposedOffsets (nowMs: number): boolean {
    if (this.state !== null && !this.peers.has(this.clockOf(this.state)) && this.clockOf(this.state) !== this.nodeId) return true
    for (const node of this.heard.keys()) {
      if (!this.peers.has(node) && this.present(node, nowMs)) return true
    }
    return false
  }

  // ---- messages ---------------------------------------------------------------------------------

  private onMessage (from: NodeId, author: NodeId, msg: SyncMessage, nowMs: number, out: Action[]): void {
    if (author === this.nodeId) return
    this.rememberHeard(author, nowMs)
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
        const peer = this.peers.get(from)
        if (peer === undefined) return
        const insane = msg.entries.find(e => !saneReportedOffset(e))
        if (insane !== undefined) return this.reject(author, `impossible offset report (rtt ${insane.rttMs} ms, offset ${insane.offsetMs} ms)`, out)
        const entries = new Map<NodeId, { offsetMs: number, rttMs: number }>()
        const previous = this.reported.get(from)?.entries
        for (const e of msg.entries) {
          if (e.peer === from || e.peer === this.nodeId) continue
          entries.set(e.peer, { offsetMs: e.offsetMs, rttMs: e.rttMs })
          // A reported offset that moved by more than both round trips allow: that clock jumped.
          const old = previous?.get(e.peer)
          if (old !== undefined && Math.abs(old.offsetMs - e.offsetMs) > (old.rttMs + e.rttMs) / 2 + REPORTED_JUMP_MARGIN_MS) {
            this.clockJumped(e.peer, this.offsetTo(e.peer, nowMs))
            this.forgetReportedOffsets(e.peer) // what others said predates the jump
          }
        }
        // A node it reported before and no longer does: it lost that node, or waits to measure it
        // again since it came back, perhaps as a new process whose clock began again. What others
        // said of it may predate that; our own estimator, if any, knows better.
        for (const node of previous?.keys() ?? []) {
          if (entries.has(node) || this.peers.has(node)) continue
          this.clockJumped(node, this.offsetTo(node, nowMs))
          this.forgetReportedOffsets(node)
        }
        this.reported.set(from, { entries, atMs: nowMs })
        // Their offsets double as a request for ours.
        if (nowMs - peer.lastOffsetsSentMs >= OFFSETS_INTERVAL_MS) {
          peer.lastOffsetsSentMs = nowMs
          out.push({ type: 'send', to: from, msg: { type: 'offsets', entries: this.ownOffsets(nowMs) } })
        }
        if (this.needsSync) this.syncPlayer(nowMs, out)
        return
      }
      case 'state-request':
        if (this.state !== null) this.sendState(from, nowMs, out)
        return
      case 'media-wait':
        if (msg.ready) this.lacking.delete(author)
        else if (!this.noteLacking(author, msg.mediaId, nowMs)) return this.reject(author, 'media-wait from a node that is not present', out)
        this.considerHold(nowMs, out)
    }
  }

  /** Remembers that a present node lacks `mediaId`; false (nothing kept) for anyone else. */
  private noteLacking (author: NodeId, mediaId: string, nowMs: number): boolean {
    if (!this.present(author, nowMs)) return false
    this.lacking.set(author, mediaId)
    return true
  }

  private reject (peer: NodeId, reason: string, out: Action[]): void {
    out.push({ type: 'notice', notice: { kind: 'rejected', peer, reason } })
  }

  private receiveState (incoming: PlaybackState, isAnnounce: boolean, from: NodeId, author: NodeId, nowMs: number, out: Action[]): void {
    if (incoming.stamp.lamport > this.lamport.value + MAX_LAMPORT_JUMP) {
      return this.reject(author, `lamport ${incoming.stamp.lamport} jumps too far ahead`, out)
    }
    const aheadMs = this.anchorAheadMs(incoming, nowMs)
    if (aheadMs !== null && aheadMs > MAX_ANCHOR_AHEAD_MS) {
      return this.reject(author, `state anchored ${Math.round(aheadMs / 1000)} s ahead of its clock's now (at most ${MAX_ANCHOR_AHEAD_MS / 1000} s)`, out)
    }
    this.lamport.observe(incoming.stamp.lamport)
    const s: PlaybackState = { ...incoming, clock: incoming.clock ?? incoming.stamp.nodeId }
    const cmp = this.state === null ? 1 : compareStamps(s.stamp, this.state.stamp)

    if (cmp > 0) {
      const prev = this.state
      this.state = s
      this.noteMediaChange(prev, s)
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
      if (this.isReanchor(s, author)) return this.followReanchor(s, nowMs, out)
      // The same event on another clock: follow the leader's, or any clock we can convert.
      const ours = this.clockOf(this.state)
      const theirs = this.clockOf(s)
      if (!isAnnounce || ours === theirs || this.offsetTo(theirs, nowMs) === null) return
      if (author === this.computeLeader(nowMs) || this.offsetTo(ours, nowMs) === null) {
        this.state = s
        if (this.needsSync) this.syncPlayer(nowMs, out)
      }
      return
    }

    // Stale: the sender missed a newer state; tell it (bounded per peer).
    const peer = this.peers.get(from)
    if (peer !== undefined && nowMs - peer.lastRepairMs >= REPAIR_MIN_INTERVAL_MS) {
      peer.lastRepairMs = nowMs
      this.sendState(from, nowMs, out)
    }
  }

  /**
   * How far a state's anchor lies ahead of now on the clock it is expressed in (null while that
   * clock's offset is unknown: the state then waits, and the daemon's timers are capped anyway).
   */
  private anchorAheadMs (s: PlaybackState, nowMs: number): number | null {
    const off = this.offsetTo(s.clock ?? s.stamp.nodeId, nowMs)
    return off === null ? null : s.atMs - (nowMs + off)
  }

  /**
   * The author moved its own playing state on its own clock (same stamp, later anchor): it found
   * its player elsewhere than the one reading it published from said.
   */
  private isReanchor (s: PlaybackState, author: NodeId): boolean {
    const ours = this.state
    return ours !== null && author === s.stamp.nodeId && this.clockOf(s) === author && this.clockOf(ours) === author &&
      s.playing && ours.playing && s.atMs > ours.atMs && s.rate === ours.rate && (s.media?.id ?? null) === (ours.media?.id ?? null)
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
    if (Math.abs(totalMs) < this.nudgeStopMs) {
      if (current !== null) this.endMove(nowMs, out)
      return
    }
    const byRateMs = totalMs - (current === null ? 2 : 1) * this.rateJumpMs
    const nudge = (byRateMs < 0 ? -1 : 1) * clamp(Math.abs(byRateMs) / this.nudgeTimeConstantMs, MIN_RATE_NUDGE, this.maxRateNudge)
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

  private clockOf (s: PlaybackState): NodeId {
    return s.clock ?? s.stamp.nodeId
  }

  private computeLeader (nowMs: number): NodeId | null {
    if (this.state === null) return null
    if (this.present(this.state.stamp.nodeId, nowMs)) return this.state.stamp.nodeId
    let leader = this.nodeId
    for (const peer of this.peers.keys()) if (peer < leader) leader = peer
    return leader
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
    const clock = this.clockOf(s)
    // Hand-over: the clock's owner left, or we lead and can hold the timeline on our own clock.
    if (clock !== leader && (!this.present(clock, nowMs) || leader === this.nodeId)) {
      const target = this.offsetTo(leader, nowMs) !== null ? leader : this.nodeId
      const moved = this.stateInClock(target, nowMs)
      if (moved !== null) this.state = moved
    }
  }

  /** The state with `atMs` on `node`'s clock (same instant), or as it is when we cannot convert. */
  private stateInClock (node: NodeId, nowMs: number): PlaybackState | null {
    const s = this.state
    if (s === null) return null
    const from = this.clockOf(s)
    if (from === node) return { ...s, clock: node }
    const fromOffset = this.offsetTo(from, nowMs)
    const toOffset = this.offsetTo(node, nowMs)
    if (toOffset === null) return { ...s }
    if (fromOffset === null) {
      // Paused: the instant does not matter. Playing: we cannot say where the timeline is.
      return s.playing ? { ...s } : { ...s, atMs: nowMs + toOffset, clock: node }
    }
    return { ...s, atMs: s.atMs - fromOffset + toOffset, clock: node }
  }

  // ---- the local player -------------------------------------------------------------------------

  private onPlayerAttached (abilities: PlayerAbilities, observed: PlayerObservation, nowMs: number, out: Action[]): void {
    this.player = { abilities, observed, rate: observed.rate }
    this.resetTrack(nowMs)
    this.pendingStart = null
    this.mismatchNoticed = null
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
    const waits = this.initiatorWaits && obs.playing && (action.kind === 'play' || action.kind === 'seek')
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
    this.noteMediaChange(prev, this.state)
    this.pendingStart = null
    this.forgetTimeline()
    this.needsSync = false
    this.mismatchNoticed = null
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
    if (nowMs - this.lastEventSentMs >= this.eventMinIntervalMs) this.sendEvent(nowMs, out)
    else this.eventDeferred = true
    if (action.kind === 'media') this.heldFor = null
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
    this.hold = null
  }

  /**
   * Bounded wait for viewers who lack the file (track changes). Only the author of the current
   * state decides, so the room sees one pause and one resume: it holds a playing room (a pause at
   * the timeline's position, as if it had paused) while present peers say they lack its media, and
   * resumes on a shared start once they all have it or MEDIA_WAIT_MS has passed. One hold per media.
   */
  private considerHold (nowMs: number, out: Action[]): void {
    const s = this.state
    if (s === null || s.media === null || s.stamp.nodeId !== this.nodeId) return
    const mediaId = s.media.id
    const waitingFor = [...this.lacking].filter(([peer, id]) => id === mediaId && this.present(peer, nowMs)).map(([peer]) => peer)
    if (this.hold === null) {
      if (!s.playing || waitingFor.length === 0 || this.heldFor === mediaId) return
      const positionMs = Math.max(0, this.expectedAt(nowMs, nowMs) ?? s.positionMs)
      this.hold = { mediaId, untilMs: nowMs + MEDIA_WAIT_MS }
      this.heldFor = mediaId
      this.state = { ...s, playing: false, positionMs, atMs: nowMs, stamp: this.lamport.next(this.nodeId), clock: this.nodeId }
      this.pendingStart = null
      this.command({ op: 'pause', positionMs }, out)
      this.settleUntilMs = nowMs + COMMAND_SETTLE_MS
      out.push({ type: 'notice', notice: { kind: 'waiting', peers: waitingFor, media: s.media, untilMs: this.hold.untilMs } })
      this.sendEvent(nowMs, out)
      return
    }
    if (this.hold.mediaId !== mediaId) {
      this.hold = null
      return
    }
    const timedOut = nowMs + TIMER_SLACK_MS >= this.hold.untilMs
    if (waitingFor.length > 0 && !timedOut) return
    // Resume together: a shared start far enough ahead for everyone to hear of it and get ready.
    this.hold = null
    this.state = { ...s, playing: true, atMs: nowMs + this.sharedLeadMs(nowMs), stamp: this.lamport.next(this.nodeId), clock: this.nodeId }
    out.push({ type: 'notice', notice: { kind: 'wait-over', timedOut, peers: waitingFor } })
    this.sendEvent(nowMs, out)
    this.refineStage = 'done'
    this.scheduleStart(nowMs, out)
  }

  /** How far ahead a shared start must be for every peer to hear of it and get ready. */
  private sharedLeadMs (nowMs: number): number {
    let maxRttMs = 0
    for (const p of this.peers.values()) maxRttMs = Math.max(maxRttMs, p.estimator.estimate(nowMs)?.rttMs ?? 0)
    return Math.max(this.minLeadMs, this.leadRttFactor * maxRttMs + this.seekLeadMs + Math.max(0, this.startLatencyMs))
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
    const s = this.state
    const ours = fitMedia(this.player?.observed?.media ?? null)
    if (s === null || s.media === null || ours === null || this.matchesRoom(s, ours)) return null
    return { theirs: s.media, ours }
  }

  /** Whether `media` (a local player's) is the film of state `s`. */
  private matchesRoom (s: PlaybackState, media: Media | null): boolean {
    return s.media !== null && media !== null && sameMedia(s.media, media, this.leftMedia)
  }

  /** A state on other media than the one before: the room moved on from that file. */
  private noteMediaChange (prev: PlaybackState | null, next: PlaybackState): void {
    const old = prev?.media ?? null
    if (old === null || old.id === next.media?.id) return
    this.leftMedia.delete(old.id)
    this.leftMedia.add(old.id)
    for (const id of this.leftMedia) {
      if (this.leftMedia.size <= MAX_LEFT_MEDIA) break
      this.leftMedia.delete(id)
    }
    if (next.media !== null) this.leftMedia.delete(next.media.id) // back to a file it had left
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
    this.tellMediaReadiness(mismatch === null ? null : mismatch.theirs?.id ?? null, out)
    const ours = fitMedia(p.observed.media)
    if (mismatch === null && s.media !== null && ours !== null && s.media.id !== ours.id) {
      const key = `${s.media.id}|${ours.id}`
      if (this.aliasNoticed !== key) {
        this.aliasNoticed = key
        out.push({ type: 'notice', notice: { kind: 'media-alias', peer: s.stamp.nodeId, theirs: s.media, ours } })
      }
    }
    if (mismatch !== null) {
      const key = `${stampKey(s.stamp)}|${mismatch.ours?.id ?? ''}`
      if (this.mismatchNoticed !== key) {
        this.mismatchNoticed = key
        out.push({ type: 'notice', notice: { kind: 'media-mismatch', peer: s.stamp.nodeId, theirs: mismatch.theirs, ours: mismatch.ours } })
      }
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

  /** Says once that our player lacks `lackingId` (the state's media), and once that it no longer does. */
  private tellMediaReadiness (lackingId: string | null, out: Action[]): void {
    if (lackingId === this.toldLackingMediaId) return
    if (this.toldLackingMediaId !== null) {
      out.push({ type: 'broadcast', msg: { type: 'media-wait', mediaId: this.toldLackingMediaId, ready: true } })
    }
    if (lackingId !== null) out.push({ type: 'broadcast', msg: { type: 'media-wait', mediaId: lackingId, ready: false } })
    this.toldLackingMediaId = lackingId
  }

  private requestStateNearby (nowMs: number, out: Action[]): void {
    if (nowMs - this.lastStateRequestMs < STATE_REQUEST_MIN_INTERVAL_MS) return
    let best: { peer: NodeId, rttMs: number } | null = null
    for (const [peer, p] of this.peers) {
      const rttMs = p.estimator.estimate(nowMs)?.rttMs
      if (rttMs !== undefined && (best === null || rttMs < best.rttMs)) best = { peer, rttMs }
    }
    if (best === null) return
    this.lastStateRequestMs = nowMs
    out.push({ type: 'send', to: best.peer, msg: { type: 'state-request' } })
  }

  /** Pause, seek to where the timeline will be at T, `play` at T - start latency. */
  private scheduleStart (nowMs: number, out: Action[]): void {
    const s = this.state
    const p = this.player
    if (s === null || p === null) return
    const off = this.offsetTo(this.clockOf(s), nowMs)
    if (off === null) return
    const startAtMs = Math.max(nowMs + this.seekLeadMs + Math.max(0, this.startLatencyMs), s.atMs - off)
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
    const off = this.offsetTo(this.clockOf(s), nowMs)
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
    if (Math.abs(errMs) <= missMs || this.startRedone || Math.abs(errMs) >= this.seekCorrectionMs) {
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
    const seekAtMs = canNudge ? this.seekCorrectionMs : this.seekCorrectionNoRateMs
    if (Math.abs(errMs) >= seekAtMs) {
      // Too far for a move; a re-sync, unless one was made lately (then wait: never a loop).
      if (nowMs < this.nextCorrectionMs) return
      this.nextCorrectionMs = nowMs + CORRECTION_COOLDOWN_MS
      out.push({ type: 'notice', notice: { kind: 'correction', how: 'seek', errorMs: errMs } })
      this.scheduleStart(nowMs, out)
      return
    }
    if (!canNudge || this.move !== null) return
    if (Math.abs(errMs) < Math.max(this.nudgeStartMs, this.track.readingLagMs * NUDGE_START_LAG_SHARE)) return
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
    if (nowMs > this.refineUntilMs || !s.playing || s.stamp.nodeId !== this.nodeId || this.clockOf(s) !== this.nodeId) {
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
    if (!s.playing) return s.positionMs
    const off = this.offsetTo(this.clockOf(s), nowMs)
    if (off === null) return null
    return s.positionMs + Math.max(0, tMs - (s.atMs - off)) * s.rate
  }

  // ---- timers -----------------------------------------------------------------------------------

  private runDue (tickMs: number, out: Action[]): void {
    if (this.hold !== null && tickMs + TIMER_SLACK_MS >= this.hold.untilMs) this.considerHold(tickMs, out)
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
    if (this.eventDeferred && dueByMs >= this.lastEventSentMs + this.eventMinIntervalMs) this.sendEvent(tickMs, out)
    if (this.leader === this.nodeId && this.state !== null && dueByMs >= this.lastAnnounceMs + this.announceIntervalMs) {
      this.lastAnnounceMs = tickMs
      const s = this.stateInClock(this.nodeId, tickMs)
      if (s !== null) out.push({ type: 'broadcast', msg: { type: 'announce', state: wireState(s), leader: this.nodeId } })
    }
    const round = this.peers.size > 0 && dueByMs >= this.lastOffsetsRoundMs + OFFSETS_INTERVAL_MS && this.needsComposedOffsets(tickMs)
    if (round) this.lastOffsetsRoundMs = tickMs
    if (round || this.offsetsChanged) {
      // A change goes at once to every neighbour that may still compose through our last report.
      const entries = this.ownOffsets(tickMs)
      for (const [peer, p] of this.peers) {
        if (!round && tickMs - p.lastOffsetsSentMs > REPORTED_OFFSET_TTL_MS) continue
        p.lastOffsetsSentMs = tickMs
        out.push({ type: 'send', to: peer, msg: { type: 'offsets', entries } })
      }
    }
    this.offsetsChanged = false
  }

  private nextDueMs (nowMs: number): number | null {
    const due: number[] = []
    if (this.hold !== null) due.push(this.hold.untilMs)
    const playAtMs = this.pendingStart === null ? null : this.playAtMs(this.pendingStart, nowMs)
    if (playAtMs !== null) due.push(playAtMs)
    if (this.move !== null) due.push(this.move.untilMs)
    if (this.adoptDueMs !== null) due.push(this.adoptDueMs)
    if (this.eventDeferred) due.push(this.lastEventSentMs + this.eventMinIntervalMs)
    if (this.leader === this.nodeId && this.state !== null) due.push(this.lastAnnounceMs + this.announceIntervalMs)
    if (this.peers.size > 0 && this.needsComposedOffsets(nowMs)) due.push(this.lastOffsetsRoundMs + OFFSETS_INTERVAL_MS)
    if (this.heard.size > this.peers.size) {
      // Presence of relayed-only nodes expires: look again then.
      for (const [node, atMs] of this.heard) if (!this.peers.has(node)) due.push(atMs + PRESENCE_TTL_MS + 1)
    }
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

/** The clock is left out when it is the author's (the default): ~65 bytes less per announce. */
function wireState (s: PlaybackState): PlaybackState {
  if (s.clock !== s.stamp.nodeId) return s
  const { clock: _clock, ...rest } = s
  return rest
}

/** Round trips and offsets a neighbour could really have measured (bounds above). */
function saneReportedOffset (e: { offsetMs: number, rttMs: number }): boolean {
  return Number.isFinite(e.offsetMs) && Number.isFinite(e.rttMs) && e.rttMs >= MIN_REPORTED_RTT_MS && e.rttMs <= MAX_REPORTED_RTT_MS
}

/** Lowest delay wins among one or two paths; from three on, the median by offset (a liar is outvoted). */
function choosePath (paths: Array<{ offsetMs: number, rttMs: number }>): { offsetMs: number, rttMs: number } | null {
  if (paths.length === 0) return null
  if (paths.length < MIN_PATHS_FOR_MEDIAN) return paths.reduce((best, p) => p.rttMs < best.rttMs ? p : best)
  const byOffset = [...paths].sort((a, b) => a.offsetMs - b.offsetMs)
  return byOffset[Math.floor((byOffset.length - 1) / 2)] as { offsetMs: number, rttMs: number }
}

/** The estimator's offset goes into our `offsets`: measured, and not awaiting a sample since a reconnect. */
function reportable (est: OffsetEstimator): boolean {
  return est.measured && !est.awaitingSample
}

function clamp (v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v))
}

/** What a new state did, compared with the one before (for the terminal). */
function actionKind (prev: PlaybackState | null, next: PlaybackState, otherThanOurs: boolean): 'play' | 'pause' | 'seek' | 'rate' | 'media' {
  if (prev !== null && (prev.media?.id ?? null) !== (next.media?.id ?? null)) return 'media'
  // The first state we hear of: another file than ours is news of a track change.
  if (prev === null && otherThanOurs) return 'media'
  if (prev === null || prev.playing !== next.playing) return next.playing ? 'play' : 'pause'
  if (prev.rate !== next.rate) return 'rate'
  return 'seek'
}

