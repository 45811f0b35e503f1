/**
 * The sync engine's configuration, resolved in one place: every constant with its unit and why it
 * has the value it has, the options a caller (the daemon, the simulator, a test) may override, and
 * `resolveConfig`, which turns those options into the one `EngineConfig` every part reads.
 */
import { checkOutputDelay } from './output-delay.js'
import type { NodeId } from './types.js'

/** The leader re-announces this often: a joiner waits at most this long; ~190 B each, ~95 B/s. */
export const ANNOUNCE_INTERVAL_MS = 2000
/**
 * Time for a seek to land and be read back before the scheduled start: mpv lands 2-4 ms after
 * SetPosition while paused, and the daemon reads the player 50 ms after a command; the start is
 * then re-timed to the frame the seek really landed on.
 */
export const SEEK_LEAD_MS = 60
/**
 * The seek lead is learnt: the longest of the last SEEK_READ_WINDOW pause-and-seeks, from the
 * command to the reading that showed where it landed (read on the player's Seeked: 3-7 ms for
 * mpv on an idle machine, 30-60 ms under load), times this factor plus this margin: a load that
 * grows makes the slowest seek slower than any seen, and a start played before its landing was
 * read is up to a frame off (in the simulator with landings of 2-80 ms, a lead of the slowest + 15
 * ms left 2 of 120 seeks while playing over a frame apart 1 s later; none with this).
 */
export const SEEK_LEAD_FACTOR = 2
export const SEEK_LEAD_MARGIN_MS = 10
/** ...over this many recent starts (a load that comes and goes is followed within a few starts)... */
export const SEEK_READ_WINDOW = 8
/** ...once this many have been measured (until then the configured lead)... */
export const MIN_SEEK_READS = 3
/** ...never below this (a start is one command queue and one read away at the very least)... */
export const MIN_SEEK_LEAD_MS = 20
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
 * default guess. Smaller misses are mended by a move (START_MEND_MS) without a visible re-start,
 * and teach the latency precisely from the mature track.
 */
export const START_REDO_MS = 25
/**
 * A smaller miss, once the track has a rough estimate (ROUGH_READINGS, ~0.5 s after the start),
 * is mended at once by a move when it is over this. Left to the mature track, a follower's start
 * that landed 60 ms late (real mpv, 1 -> 1.25x beside a busy core) was seen 2 s after it and
 * mended over another second. Not less: on real mpv (bench:speed, quiet machine) rough estimates
 * of 22 and 28 ms were mended, and the mature track found those followers 10-16 ms the other way,
 * the author's own re-anchors still to come (2 s skew p50 15-20 ms, max 47-60, against 13.5 / 23.5
 * without). In the simulator, 20 left 3 of 160 probes over a frame 2 s after a late start, 30 4 (6 with
 * the gates on stale readings).
 */
export const START_MEND_MS = 30
/**
 * A start that missed by more than a latency can be wrong by (MAX_START_LATENCY_STEP_MS: a seek that
 * failed or landed late on a machine under load) is redone at once, even after a redo, this many
 * times in a row: moving hundreds of ms by rate takes seconds (500 ms at 5 % is 10 s), a redo one
 * start. The bound keeps a player that always lands far off from a pause/resume loop: after it, such
 * a player is left to moves and to corrective re-syncs with their cooldown.
 */
export const FAR_START_REDOS = 3
/**
 * Right after a start, a playing player follows the offset to the timeline's clock once the
 * estimate has moved it this far since (a fresh room's first samples, taken while the daemons
 * start, were 30-55 ms off on a busy machine); smaller moves are left to drift moves, as before. A
 * converged estimate moves < 0.5 ms per sample.
 */
export const CLOCK_FOLLOW_MIN_MS = 10
/** A move works its error off over about this long (the nudge is error / this, within bounds). */
export const NUDGE_TIME_CONSTANT_MS = 500
/** Beyond this error a re-sync beats minutes of nudging (5 % for 20 s); within a cool-down, nothing is done. */
export const SEEK_CORRECTION_MS = 1000
/**
 * A move that would take longer than this at the largest nudge (150 ms of error at 1x) is left for
 * one re-sync, a single hop, unless one was made lately (then a move does what it can). Such
 * errors come from faults, not drift (drift moves mend a few ms): a daemon frozen while a move ran
 * (a suspended laptop) left its player 260 ms behind, which a move at 5 % took 6.5 s to mend.
 */
export const MAX_MOVE_MS = 3000
/**
 * A move's end this late (the daemon was frozen, or starved of CPU) kept the nudged rate on that
 * much longer: what it moved too far is known and mended at once, and the move teaches nothing of
 * the rate jump (at 5 %, 100 ms late is 5 ms: within what the jump learning absorbs).
 */
export const MOVE_END_LATE_MS = 100
/** Without Rate, a re-sync once more than a frame off (25 fps): the track is good to a few ms. */
export const SEEK_CORRECTION_NO_RATE_MS = 50
/**
 * A player that short rate changes do not move (`nudgeable: false`: VLC) is re-synced once it is
 * this far off. Its re-syncs land within ~17 ms of their mean, with a busy core or not (`npm run
 * bench:vlc-seek`, VLC alone, its picture read frame by frame, 8 re-syncs each: 1-35 ms from the
 * line quiet, 3-31 ms with a busy core; the engine learns the mean as its start latency). In the
 * one room run read both ways, its own status said 38-39 ms behind while its picture was 41-45 ms
 * behind the mpv players. At 50 ms (the no-Rate bar) a VLC that landed 40-48 ms behind, over a
 * frame, was never mended: in 1 of 2 real-VLC e2e runs with both cores busy it stayed there for 30 s.
 */
export const SEEK_CORRECTION_UNNUDGEABLE_MS = 30
/** A player playing within this of the timeline is "in step": nudge, do not re-sync. */
export const IN_STEP_MS = 50
export const IN_STEP_NO_RATE_MS = 40
/** ...judged from a single reading (no mature track): looser, a reading may lag a frame or more. */
export const IN_STEP_COARSE_MS = 60
/** Corrective re-syncs are at least this far apart: never a pause/resume loop. */
export const CORRECTION_COOLDOWN_MS = 10_000
/** A player reading another rate than ours this long is asked again (a command got lost in a race). */
export const RATE_MISMATCH_MS = 1000
/**
 * ...where another rate is one off ours by more than this share of it: VLC runs at 1000/n (n
 * whole), up to rate/1000 above what it was asked (1.01 runs as 1.010101), and asking again
 * changes nothing (it was asked once a second for as long as a move lasted).
 */
export const RATE_ROUNDING_SHARE = 0.003
/**
 * A rate command of ours sent this recently may land after a speed change of the viewer's own seen
 * since (the change is noticed up to ~100 ms late, a command lands a D-Bus round trip later, more
 * under load): the viewer's speed is set again at once rather than after RATE_MISMATCH_MS.
 */
export const RATE_RACE_MS = 1000
/**
 * Likewise a play or pause of ours sent this recently may land after a seek or speed change of the
 * viewer's own read since (the reading predates it): the player is then put on the viewer's new
 * state at once, not after STALL_MS. Seen in a chaos run: a seek read 37 ms after our pause (of a
 * peer's action) became a playing state; the pause landed after it and left that viewer paused
 * for 2 s while the room played the seek. The same for the viewer's opposite play or pause: in the
 * simulator our scheduled start's `play` went out 1.3 ms before a pause was noticed, landed after
 * it, and the player played on against the room for 3 s; the viewer's intent is commanded again.
 */
export const COMMAND_RACE_MS = 1000
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
 * A position the player layer fitted itself (VLC, from its step edges) is trusted as a mature track
 * once it is sure to within this, either way: our own action is re-anchored to it (not from a rough
 * estimate), and a start's miss is learnt from it. VLC read 10 times a second gets there 3-5 s after
 * a jump; before, its estimates scattered 30-50 ms either side of its picture, and re-anchoring on
 * the first of them (~2 s after its user's seek) took the room up to 45 ms away from VLC's picture.
 */
export const FITTED_TRUST_MS = 10
/**
 * How far a fitted player's own resume or seek may be published off its first reading by what was
 * learnt (resumeShiftMs, seekShiftMs), and how much each sure re-anchor teaches. VLC's resumes by
 * its viewer were re-anchored 25-36 ms back in each of 5 bench:vlc runs: its first reading after
 * one is its exact paused value, not a reading that lags as the published action assumed.
 */
export const MAX_OWN_SHIFT_MS = 100
export const OWN_SHIFT_GAIN = 0.3
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
/**
 * A node heard only through relayed messages counts as present this long (three announces). Not the
 * mesh's presence (a direct connection, ended by the mesh's own dead-peer timeout).
 */
export const RELAYED_PRESENCE_TTL_MS = 3 * ANNOUNCE_INTERVAL_MS
/** How often offsets are exchanged while some node is reachable only through others. */
export const OFFSETS_INTERVAL_MS = 10_000
/** Offsets a neighbour reported are used this long. */
export const REPORTED_OFFSET_TTL_MS = 3 * OFFSETS_INTERVAL_MS
/** Slack on a reported offset's move before it counts as a clock restart (drift between two reports). */
export const REPORTED_RESTART_MARGIN_MS = 20
/**
 * How far a wall clock its OS says is synced may be from true time, ms (offset.ts
 * `narrowByOsClocks`; a pair of clocks is allowed twice this). chrony over the internet keeps
 * within a millisecond or two, systemd-timesyncd within a few; a clock worse than this moves the
 * offset by no more than its excess, and one far off contradicts the two-way bounds and is not used.
 */
export const OS_CLOCK_ERROR_MS = 5
/** Our process clock minus our wall clock is told again once it moved by more than this (a step, a sleep). */
export const OS_CLOCK_RESEND_MS = 0.5
/** Asking a neighbour for a state we cannot place on our clock at most this often. */
export const STATE_REQUEST_MIN_INTERVAL_MS = 1000
/** Answering a stale state with ours at most this often per peer. */
export const REPAIR_MIN_INTERVAL_MS = 1000
/** A timer due within this is run now (timers fire a hair early, clock conversions round). */
export const TIMER_SLACK_MS = 1
/** Offset estimators kept for peers that left (a room is far smaller). */
export const MAX_DEPARTED_PEERS = 64
/** A stamp this far ahead of everything seen is garbage, not history (it would freeze the order). */
export const MAX_LAMPORT_AHEAD = 1_000_000
/**
 * Nodes remembered by what they said (heard, lacking media) at most: a room is 32 viewers; a
 * member vouching for invented ones cannot make us remember more than this.
 */
export const MAX_KNOWN_NODES = 256
/**
 * A state anchored further ahead of its clock's now than this is refused: a scheduled start is a
 * lead of tens to hundreds of ms ahead; a month ahead would only stall every timer.
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
  /** Time for a scheduled start's seek to land and be read back: the first guess, and the most it is learnt up to. */
  seekLeadMs?: number
  /** Initial start latency guess; learnt afterwards. */
  startLatencyMs?: number
  maxRateNudge?: number
  nudgeStartMs?: number
  nudgeStopMs?: number
  seekCorrectionMs?: number
  seekCorrectionNoRateMs?: number
  seekCorrectionUnnudgeableMs?: number
  /** A longer move (at the largest nudge) is a re-sync instead (Infinity: only beyond `seekCorrectionMs`). */
  maxMoveMs?: number
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
  /** This viewer hears its player this late (headphones, a TV): the player runs that far ahead. See output-delay.ts. */
  outputDelayMs?: number
  /**
   * False in a managed room for a viewer who is no operator: its user's actions make no state; the
   * player is brought back to the room instead (undoUserAction). Default true.
   */
  canControl?: boolean
}

/** Every tunable the engine's parts read, after defaults are applied. */
export interface EngineConfig {
  readonly nodeId: NodeId
  readonly announceIntervalMs: number
  readonly seekLeadMs: number
  /** First guess; the player control learns the real one. */
  readonly startLatencyMs: number
  readonly maxRateNudge: number
  readonly nudgeStartMs: number
  readonly nudgeStopMs: number
  readonly seekCorrectionMs: number
  readonly seekCorrectionNoRateMs: number
  readonly seekCorrectionUnnudgeableMs: number
  readonly maxMoveMs: number
  readonly eventMinIntervalMs: number
  readonly nudgeTimeConstantMs: number
  /** First guess; the player control learns the real one. */
  readonly rateJumpMs: number
  readonly initiatorWaits: boolean
  readonly minLeadMs: number
  readonly leadRttFactor: number
  readonly outputDelayMs: number
  readonly canControl: boolean
}

export function resolveConfig (opts: SyncEngineOptions): EngineConfig {
  return {
    nodeId: opts.nodeId,
    announceIntervalMs: opts.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS,
    seekLeadMs: opts.seekLeadMs ?? SEEK_LEAD_MS,
    startLatencyMs: opts.startLatencyMs ?? START_LATENCY_MS,
    maxRateNudge: opts.maxRateNudge ?? MAX_RATE_NUDGE,
    nudgeStartMs: opts.nudgeStartMs ?? NUDGE_START_MS,
    nudgeStopMs: opts.nudgeStopMs ?? NUDGE_STOP_MS,
    seekCorrectionMs: opts.seekCorrectionMs ?? SEEK_CORRECTION_MS,
    seekCorrectionNoRateMs: opts.seekCorrectionNoRateMs ?? SEEK_CORRECTION_NO_RATE_MS,
    seekCorrectionUnnudgeableMs: opts.seekCorrectionUnnudgeableMs ?? SEEK_CORRECTION_UNNUDGEABLE_MS,
    maxMoveMs: opts.maxMoveMs ?? MAX_MOVE_MS,
    eventMinIntervalMs: opts.eventMinIntervalMs ?? EVENT_MIN_INTERVAL_MS,
    nudgeTimeConstantMs: opts.nudgeTimeConstantMs ?? NUDGE_TIME_CONSTANT_MS,
    rateJumpMs: opts.rateJumpMs ?? RATE_JUMP_MS,
    initiatorWaits: opts.initiatorWaits ?? false,
    minLeadMs: opts.minLeadMs ?? 0,
    leadRttFactor: opts.leadRttFactor ?? 1,
    outputDelayMs: checkOutputDelay(opts.outputDelayMs ?? 0),
    canControl: opts.canControl ?? true
  }
}
