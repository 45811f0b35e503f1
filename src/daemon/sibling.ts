/**
 * Following a peer to the next file: the name comes from the peer, so it only ever picks a
 * regular file with a media extension, by a plain name (sanitized, no path, not hidden), in the
 * folder of the file the player already plays. Anything else is not opened, and whether such a
 * file exists is not told (no oracle for what is on the disk).
 */
import { lstat } from 'node:fs/promises'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Player } from '../player/player.js'
import { sanitizeText } from '../text/sanitize.js'

/** What players open as films, episodes or music; a peer cannot make us open anything else. */
export const MEDIA_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mkv', '.mp4', '.m4v', '.avi', '.mov', '.webm', '.wmv', '.flv', '.mpg', '.mpeg', '.ts', '.m2ts',
  '.mts', '.ogv', '.ogg', '.3gp', '.vob', '.divx', '.mp3', '.flac', '.m4a', '.opus', '.wav', '.aac'
])

/** A file name, as a peer gave it, that we may look for: plain, visible, printable, a media file. */
export function isOpenableName (name: string): boolean {
  if (name.length === 0 || name.length > 255 || sanitizeText(name, { maxChars: 255 }) !== name) return false
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) return false
  return MEDIA_EXTENSIONS.has(extname(name).toLowerCase())
}

/** file:// URL of `name` beside the player's current (local) file, when it is an openable regular file. */
export async function siblingUrl (player: Player, name: string): Promise<string | null> {
  if (!isOpenableName(name)) return null
  let current: string | null
  try {
    current = (await player.state()).media?.url ?? null
  } catch {
    return null
  }
  if (current === null || !current.startsWith('file://')) return null
  try {
    const candidate = join(dirname(fileURLToPath(current)), name)
    // lstat: a link could point anywhere; the user can still open it by hand.
    if (!(await lstat(candidate)).isFile()) return null
    return pathToFileURL(candidate).href
  } catch {
    return null
  }
}
