/**
 * The shared timeline: the room's one register, `PlaybackState`, and the pure rules read off it.
 * `atMs` is on the monotonic clock of node `clock` (the author's unless a later leader re-expressed
 * it); with `offsetMs` that clock minus ours, the position at our local time t is
 *   positionMs + (playing ? max(0, t - (atMs - offsetMs)) * rate : 0)
 * The leader rule is here too: the author of the winning state while present, else the smallest id
 * among this node and its direct peers.
 */
import type { NodeId, PlaybackState } from './types.js'

/** The node on whose clock a state's `atMs` is. */
export function clockOf (s: PlaybackState): NodeId {
  return s.clock ?? s.stamp.nodeId
}

/** Media position at our local time `tMs`, given our offset to the state's clock (null: unknown). */
export function positionAt (s: PlaybackState, clockOffsetMs: number | null, tMs: number): number | null {
  if (!s.playing) return s.positionMs
  if (clockOffsetMs === null) return null
  return s.positionMs + Math.max(0, tMs - (s.atMs - clockOffsetMs)) * s.rate
}

/**
 * How far a state's anchor lies ahead of now on its clock, given our offset to that clock (null
 * while it is unknown).
 */
export function anchorAheadMs (s: PlaybackState, clockOffsetMs: number | null, nowMs: number): number | null {
  return clockOffsetMs === null ? null : s.atMs - (nowMs + clockOffsetMs)
}

/**
 * The state with `atMs` on `node`'s clock (the same instant), given our offsets to its clock now
 * (`fromOffsetMs`) and to `node` (`toOffsetMs`); as it is when that cannot be done.
 */
export function inClock (s: PlaybackState, node: NodeId, fromOffsetMs: number | null, toOffsetMs: number | null, nowMs: number): PlaybackState {
  if (clockOf(s) === node) return { ...s, clock: node }
  if (toOffsetMs === null) return { ...s }
  if (fromOffsetMs === null) {
    // Paused: the instant does not matter. Playing: we cannot say where the timeline is.
    return s.playing ? { ...s } : { ...s, atMs: nowMs + toOffsetMs, clock: node }
  }
  return { ...s, atMs: s.atMs - fromOffsetMs + toOffsetMs, clock: node }
}

/** The clock is left out when it is the author's (the default): ~65 bytes less per announce. */
export function wireState (s: PlaybackState): PlaybackState {
  if (s.clock !== s.stamp.nodeId) return s
  const { clock: _clock, ...rest } = s
  return rest
}

/**
 * Whether `s`, from `author`, re-anchors `ours`: the author moved its own playing state on its own
 * clock (same stamp, later anchor) because it found its player elsewhere than the reading it
 * published from said.
 */
export function isReanchor (ours: PlaybackState | null, s: PlaybackState, author: NodeId): boolean {
  return ours !== null && author === s.stamp.nodeId && clockOf(s) === author && clockOf(ours) === author &&
    s.playing && ours.playing && s.atMs > ours.atMs && s.rate === ours.rate && (s.media?.id ?? null) === (ours.media?.id ?? null)
}

/** The leader: the state's author while present, else `fallback` (the smallest id among us and our direct peers). */
export function leaderOf (s: PlaybackState | null, authorPresent: boolean, fallback: NodeId): NodeId | null {
  if (s === null) return null
  return authorPresent ? s.stamp.nodeId : fallback
}

/** What a new state did, compared with the one before (for the terminal). */
export function actionKind (prev: PlaybackState | null, next: PlaybackState, otherThanOurs: boolean): 'play' | 'pause' | 'seek' | 'rate' | 'media' {
  if (prev !== null && (prev.media?.id ?? null) !== (next.media?.id ?? null)) return 'media'
  // The first state we hear of: another file than ours is news of a track change.
  if (prev === null && otherThanOurs) return 'media'
  if (prev === null || prev.playing !== next.playing) return next.playing ? 'play' : 'pause'
  if (prev.rate !== next.rate) return 'rate'
  return 'seek'
}
