/**
 * Media identity and the hold: which film the room is on, whether our player shows it, who lacks
 * it, and when the room waits for them. Pure: the time and presence come in as arguments; what is
 * to be said goes into the caller's action list.
 *
 * - Our player's media is the room's when media.ts's `sameFilm` says so, knowing the files the
 *   room moved on from (a track change): those are never taken for the room's film again.
 * - A player showing other media is never driven; that is said once per state (`media-mismatch`),
 *   and the room is told once that we lack its file and once that we no longer do (`media-wait`).
 * - The hold: when the author of the current state moved the room to a file some present viewer
 *   lacks, the author alone pauses the room for them (one pause, one resume for everyone), at most
 *   MEDIA_WAIT_MS, once per media. `decideHold` says when to hold and when to resume; the engine
 *   does it (a new state, a pause, a shared start).
 */
import { MEDIA_WAIT_MS, TIMER_SLACK_MS } from './config.js'
import { stampKey } from './lamport.js'
import { MAX_LEFT_MEDIA, sameFilm } from './media.js'
import type { Action, Media, NodeId, PlaybackState } from './types.js'

export type HoldDecision =
  | { kind: 'hold', waitingFor: NodeId[], untilMs: number }
  | { kind: 'resume', waitingFor: NodeId[], timedOut: boolean }

export class RoomMedia {
  /** The media id of the current state that our player lacks and that we told the room so. */
  private toldLackingMediaId: string | null = null
  /** Media ids the room moved on from (a track change), oldest first: see media.ts. */
  private readonly leftMedia = new Set<string>()
  /** The pair of names last said to be taken as one film (said once). */
  private aliasNoticed: string | null = null
  /** The state and media last said not to match (said once). */
  private mismatchNoticed: string | null = null
  /** Peers that said their player lacks this media id. */
  private readonly lacking = new Map<NodeId, string>()
  /** The room is held for a media id until `untilMs`; `heldFor` stops a second hold for the same media. */
  private hold: { mediaId: string, untilMs: number } | null = null
  private heldFor: string | null = null

  constructor (private readonly self: NodeId) {}

  /** Whether `media` (a local player's) is the film of state `s`. */
  matches (s: PlaybackState, media: Media | null): boolean {
    return s.media !== null && media !== null && sameFilm(s.media, media, this.leftMedia)
  }

  /** The state's media and ours when our player shows another film; null when it shows the room's (or nothing). */
  mismatch (s: PlaybackState | null, ours: Media | null): { theirs: Media | null, ours: Media | null } | null {
    if (s === null || s.media === null || ours === null || this.matches(s, ours)) return null
    return { theirs: s.media, ours }
  }

  /** A state on other media than the one before: the room moved on from that file. */
  noteChange (prev: PlaybackState | null, next: PlaybackState): void {
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

  /**
   * Says what our player shows against the state, once each: that we lack its media (or no longer
   * do), that our file is taken as the room's under another name, that it is another film.
   */
  tell (s: PlaybackState, ours: Media | null, mismatch: { theirs: Media | null, ours: Media | null } | null, out: Action[]): void {
    this.tellReadiness(mismatch === null ? null : mismatch.theirs?.id ?? null, out)
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
    }
  }

  /** A new player, or the user acted: a mismatch is worth saying again. */
  resetMismatchNotice (): void {
    this.mismatchNoticed = null
  }

  /** The media id we told the room we lack, if any (said again to a peer that comes up). */
  get toldLacking (): string | null {
    return this.toldLackingMediaId
  }

  /** A peer said its player lacks `mediaId` (or, `ready`, that it has it now). */
  peerSays (peer: NodeId, mediaId: string, ready: boolean): void {
    if (ready) this.lacking.delete(peer)
    else this.lacking.set(peer, mediaId)
  }

  peerGone (peer: NodeId): void {
    this.lacking.delete(peer)
  }

  /** A new state took over: a hold was for the state that made it. */
  dropHold (): void {
    this.hold = null
  }

  /** Our user moved to another file: that file may be held for again. */
  newTrack (): void {
    this.heldFor = null
  }

  /**
   * Whether to hold the room for viewers lacking the state's media, or to end a hold: only the
   * author of the current state decides. `present` says who is still in the room.
   */
  decideHold (s: PlaybackState | null, nowMs: number, present: (node: NodeId) => boolean): HoldDecision | null {
    if (s === null || s.media === null || s.stamp.nodeId !== this.self) return null
    const mediaId = s.media.id
    const waitingFor = [...this.lacking].filter(([peer, id]) => id === mediaId && present(peer)).map(([peer]) => peer)
    if (this.hold === null) {
      if (!s.playing || waitingFor.length === 0 || this.heldFor === mediaId) return null
      this.hold = { mediaId, untilMs: nowMs + MEDIA_WAIT_MS }
      this.heldFor = mediaId
      return { kind: 'hold', waitingFor, untilMs: this.hold.untilMs }
    }
    if (this.hold.mediaId !== mediaId) {
      this.hold = null
      return null
    }
    const timedOut = nowMs + TIMER_SLACK_MS >= this.hold.untilMs
    if (waitingFor.length > 0 && !timedOut) return null
    this.hold = null
    return { kind: 'resume', waitingFor, timedOut }
  }

  /** When the hold runs out, if one is on. */
  nextDueMs (): number | null {
    return this.hold?.untilMs ?? null
  }

  private tellReadiness (lackingId: string | null, out: Action[]): void {
    if (lackingId === this.toldLackingMediaId) return
    if (this.toldLackingMediaId !== null) {
      out.push({ type: 'broadcast', msg: { type: 'media-wait', mediaId: this.toldLackingMediaId, ready: true } })
    }
    if (lackingId !== null) out.push({ type: 'broadcast', msg: { type: 'media-wait', mediaId: lackingId, ready: false } })
    this.toldLackingMediaId = lackingId
  }
}
