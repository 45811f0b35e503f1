/**
 * When two viewers play the same film (`sameFilm`). Each plays their own copy, and friends' copies
 * of one film are rarely named alike (`Movie.2019.1080p.mkv`, `movie.mkv`), but a cut's length is
 * its own. So: the same name is the same film; other names are too when both lengths are known and agree
 * within SAME_LENGTH_MS. Episodes of a series can share a length to the second, so never when the
 * names differ only in their numbers (`episode-1.mkv`, `S01E02.mkv`: siblings, not copies), nor
 * when ours is a file the room has moved on from.
 */
import type { Media } from './types.js'

/** Two rips of one cut differ by a few frames; episodes by tens of seconds. */
export const SAME_LENGTH_MS = 1000
/** Files the room moved on from that are remembered (a night's worth of episodes). */
export const MAX_LEFT_MEDIA = 64

export function sameFilm (theirs: Media | null, ours: Media | null, left: ReadonlySet<string> = new Set()): boolean {
  if (theirs === null || ours === null) return theirs === ours
  if (theirs.id === ours.id) return true
  if (left.has(ours.id) || theirs.lengthMs === null || ours.lengthMs === null || numberedSiblings(theirs.name, ours.name)) return false
  return Math.abs(theirs.lengthMs - ours.lengthMs) <= SAME_LENGTH_MS
}

/** Names that are one pattern with other numbers in it: parts of one series. */
function numberedSiblings (a: string, b: string): boolean {
  const pattern = (name: string): string => name.toLowerCase().replace(/[0-9]+/g, '#')
  return pattern(a) === pattern(b)
}

/**
 * `room` with the length `seen` knows of the same file (same id), when `room` lacks one; null when
 * there is nothing to learn. A player names a file before it knows its length (mpv over IPC: the
 * path at once, the duration 30-50 ms later, once the file is open), and a state taken at that
 * moment would otherwise never match a copy with another name (`sameFilm` needs both lengths).
 */
export function withLateLength (room: Media | null, seen: Media | null): Media | null {
  if (room === null || seen === null || room.id !== seen.id || room.lengthMs !== null || seen.lengthMs === null) return null
  return { ...room, lengthMs: seen.lengthMs }
}
