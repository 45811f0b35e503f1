/**
 * The contract of the pure sync engine: what goes in, what comes out.
 *
 * Everything here is plain data. Times are milliseconds (float) on the *local* monotonic clock
 * of the node that holds them, unless a field says otherwise. The engine never reads a clock:
 * each call gets `nowMs`.
 */

/**
 * What the engine learnt of the local player (learnt.ts has the bounds): where learning starts
 * when a player of the same kind attaches again.
 */
export interface LearntPlayer {
  /** `play` -> running latency, ms (negative: it resumes ahead). */
  startLatencyMs: number
  /** Position jump per rate change, ms. */
  rateJumpMs: number
  /** How far a reading typically lags the truth, ms of our time. */
  readingLagMs: number
  /** How far the first reading after a jump lags, ms of our time. */
  freshReadingLagMs: number
  /** How far the envelope of the first few readings after a jump falls short of the mature one, ms. */
  roughShortMs: number
  /** How long before `play` a scheduled start pauses and seeks (time to land and be read back), ms. */
  seekLeadMs: number
  /**
   * Where a player the layer fits itself (VLC) really was, once sure, against where the viewer's own
   * resume (seek) was published from its first reading, ms (negative: behind): added to the next.
   */
  resumeShiftMs: number
  seekShiftMs: number
}

/** Hex-encoded 32-byte public key of a node (its swarm keypair). */
export type NodeId = string

/** Lamport stamp; the total order is (lamport, nodeId). */
export interface Stamp {
  lamport: number
  nodeId: NodeId
}

/** What is being played, as far as we can tell from the player's metadata. */
export interface Media {
  /** Stable identity used to compare files across viewers (the file basename, else the title). */
  id: string
  /** Human-readable name: file basename, else title. */
  name: string
  /** Length in ms when the player reports it. */
  lengthMs: number | null
}

/**
 * The replicated register. Expected media position at the author's time t:
 *   positionMs + (playing ? (t - atMs) * rate : 0)
 */
export interface PlaybackState {
  media: Media | null
  playing: boolean
  positionMs: number
  /**
   * Time at which `positionMs` holds, on the monotonic clock of node `clock` (the author's unless
   * the timeline was re-expressed by a later leader). For play it may be a scheduled start.
   */
  atMs: number
  rate: number
  stamp: Stamp
  /**
   * Whose clock `atMs` is on; absent means the author's (`stamp.nodeId`). A new leader re-expresses
   * the timeline in its own clock without touching the stamp, so the event keeps its place in the order.
   */
  clock?: NodeId
}

/** What the local player looked like at local time `atMs`. */
export interface PlayerObservation {
  playing: boolean
  positionMs: number
  atMs: number
  rate: number
  media: Media | null
  /**
   * A seek of ours is still under way: the player has not yet said where it landed (MPRIS Seeked,
   * mpv's playback-restart), and meanwhile reports the seek's target, not the frame it will rest
   * on (mpv: up to a frame before it). Set only for players that report their landings.
   */
  seeking?: boolean
  /**
   * The player layer fitted `positionMs` (a coarse player's step edges: VLC), and the player is
   * within this many ms of it either way: the track takes it as it is rather than as a reading
   * that only lags (player-track.ts). Absent for other players.
   */
  uncertaintyMs?: number
}

/** Something the local user did in their own player (never something we commanded). */
export interface UserAction {
  kind: 'play' | 'pause' | 'seek' | 'rate' | 'media'
  /** The player right after the action. */
  observed: PlayerObservation
}

/** What the player can do; the engine degrades gracefully without Rate or Seeked. */
export interface PlayerAbilities {
  canSeek: boolean
  canPause: boolean
  /** Rate range the player accepts; [1, 1] when Rate cannot be set. */
  rateMin: number
  rateMax: number
  /**
   * While playing, a changed rate takes effect this long after it reads back (ms): the old one goes
   * on meanwhile (mpv: ~300). 0 or absent: at once.
   */
  rateTakesEffectMs?: number
  /**
   * Whether a rate change held for a fraction of a second (a move: a nudge of a few % for ~0.5 s)
   * moves the player along its media by what the rate says. False: it does not (VLC 3: its picture
   * goes back to the timeline it kept before, after a jerk), so the player is never nudged; it is
   * put back by a re-sync once off by `seekCorrectionUnnudgeableMs` (30 ms). Absent: true.
   */
  nudgeable?: boolean
}

/** Messages engines exchange. The mesh carries them as opaque, bounded bytes (see sync/codec.ts). */
export type SyncMessage =
  /** A control event: broadcast by its author (signed and relayed by the mesh). */
  | { type: 'event', state: PlaybackState }
  /** Periodic re-announcement of the winning state by the leader; `leader` is the sender. */
  | { type: 'announce', state: PlaybackState, leader: NodeId }
  /** The sender's current clock estimates to its direct peers (used to compose offsets). */
  | { type: 'offsets', entries: OffsetEntry[] }
  /** Ask for the current state (a joiner or a node whose player re-attached). */
  | { type: 'state-request' }
  /**
   * The sender's player lacks (`ready: false`) or now shows (`ready: true`) the media of the
   * current state: the leader holds playback for it, boundedly.
   */
  | { type: 'media-wait', mediaId: string, ready: boolean }
  /**
   * A line of chat, broadcast (signed and relayed like an event). Not the engine's: the daemon
   * shows it; the engine ignores it. Raw text: sanitise before showing it.
   */
  | { type: 'chat', text: string }
  /**
   * Sent straight to each peer as it comes up, and again when it changed: whether the sender's
   * operating system keeps its wall clock in step with time servers (NTP), and if so the sender's
   * clock minus that wall clock (absent from older peers). Where both ends are synced, the wall
   * clocks bound what a lopsided path hides from the offset (peer-clocks.ts).
   */
  | { type: 'clock-synced', synced: boolean, clockMinusWallMs?: number }
  /**
   * Managed rooms: an encoded `event` or `announce`, signed by the room's operator key. Not the
   * engine's: the daemon verifies it and hands the engine what is inside (docs/protocol.md).
   */
  | { type: 'operated', operatorKey: Uint8Array, signature: Uint8Array, inner: Uint8Array }

export type Input =
  | { type: 'peer-up', peer: NodeId, name?: string }
  | { type: 'peer-down', peer: NodeId, reason: 'left' | 'lost' }
  /**
   * One four-timestamp exchange with a direct peer: t1 (we sent) and t4 (we received) are on our
   * clock, t2 (peer received) and t3 (peer replied) on the peer's.
   */
  | { type: 'clock-sample', peer: NodeId, t1: number, t2: number, t3: number, t4: number }
  /** `from` is the direct neighbour that delivered it; `author` signed it (equal unless relayed). */
  | { type: 'message', from: NodeId, author: NodeId, msg: SyncMessage }
  /** A fresh reading of the local player (the daemon polls). */
  | { type: 'player-status', observed: PlayerObservation }
  | { type: 'user', action: UserAction }
  /**
   * `learnt`: what was learnt of this kind of player before (learnt.ts), or before anything was,
   * what is known of that kind (its priors: only some values), to start from.
   */
  | { type: 'player-attached', abilities: PlayerAbilities, observed: PlayerObservation, learnt?: Partial<LearntPlayer> }
  | { type: 'player-detached' }
  /**
   * What this machine's OS says of its wall clock: kept in step with time servers or not, and our
   * clock minus that wall clock (given again when it may have moved: a step, a sleep).
   */
  | { type: 'os-clock', synced: boolean, clockMinusWallMs: number }
  /** A `wake` the engine asked for came due (or any periodic tick; the engine must not care). */
  | { type: 'tick' }

export type PlayerCommand =
  /**
   * Pause, then seek to `positionMs` (the frame to rest on). One command, so that a player gets one
   * SetPosition: a second one right after it is answered with a single Seeked, and the daemon's
   * bookkeeping of its own commands would then take the user's next seek nearby for ours.
   */
  | { op: 'pause', positionMs: number }
  | { op: 'play' }
  | { op: 'seek', positionMs: number }
  | { op: 'rate', rate: number }

/** Things worth telling the person at the terminal. */
export type Notice =
  | { kind: 'remote-action', author: NodeId, action: 'play' | 'pause' | 'seek' | 'rate' | 'media', positionMs: number, media: Media | null, rate: number }
  | { kind: 'media-mismatch', peer: NodeId, theirs: Media | null, ours: Media | null }
  /** Another name, the same length: taken as the same film (said once per pair of names). */
  | { kind: 'media-alias', peer: NodeId, theirs: Media, ours: Media }
  | { kind: 'leader', leader: NodeId | null }
  /** `restart`: a scheduled start missed and was redone once, right away (not a steady-state correction). */
  | { kind: 'correction', how: 'rate' | 'seek' | 'restart', errorMs: number }
  /** The room is held (paused) until these peers open `media`, at most `untilMs` (local time). */
  | { kind: 'waiting', peers: NodeId[], media: Media, untilMs: number }
  /** The hold is over: everyone has the media, or the bound ran out (`timedOut`, these still lack it). */
  | { kind: 'wait-over', timedOut: boolean, peers: NodeId[] }
  /** Managed room, and we are no operator: the user's own action was undone (the player brought back to the room). */
  | { kind: 'undone', action: UserAction['kind'] }
  /** A peer's message made no sense (wrong author, absurd stamp); it was dropped. Log-worthy, not fatal. */
  | { kind: 'rejected', peer: NodeId, reason: string }

export type Action =
  | { type: 'broadcast', msg: SyncMessage }
  | { type: 'send', to: NodeId, msg: SyncMessage }
  | { type: 'player', cmd: PlayerCommand }
  /** Call `handle({ type: 'tick' }, t)` at local time `atMs` (the latest wake asked for wins). */
  | { type: 'wake', atMs: number }
  | { type: 'notice', notice: Notice }

/** Read-only view for status output. */
export interface EngineSnapshot {
  nodeId: NodeId
  leader: NodeId | null
  state: PlaybackState | null
  /** Expected media position now, on the shared timeline. */
  expectedPositionMs: number | null
  /** Last measured local error (player - expected), ms; null when unknown. */
  errorMs: number | null
  /**
   * `offsetUncertaintyMs`: the true offset lies within offsetMs ± this (what asymmetry could hide);
   * `clockSynced`: what a direct peer said of its OS clock (null: not direct, or nothing said).
   */
  peers: Array<{ peer: NodeId, offsetMs: number | null, rttMs: number | null, offsetUncertaintyMs: number | null, clockSynced: boolean | null, direct: boolean }>
}

/** One node's measured offset to a direct peer of its own (its clock minus ours), for others to compose through. */
export interface OffsetEntry {
  peer: NodeId
  offsetMs: number
  rttMs: number
}
