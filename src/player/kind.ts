/**
 * The kind of a player: what the daemon remembers learnt parameters by. Not one process (a
 * restarted mpv is the same kind), not one bus name (mpv-mpris claims `...mpv.instance<PID>` when
 * `...mpv` is taken), but the way in and what the player calls itself.
 */
import { sanitizeText } from '../text/sanitize.js'

const MPRIS_PREFIX = 'org.mpris.MediaPlayer2.'
/** A second instance of a player takes `<name>.instance<N>` (mpv-mpris, VLC): the same kind. */
const INSTANCE_SUFFIX = /\.instance\d+$/
/** The player names itself (MPRIS Identity): bounded, it is a key in a file of ours. */
const MAX_KIND_CHARS = 120

/** `mpv-ipc` for mpv over its JSON IPC; `mpris:<bus name family>:<Identity>` over MPRIS. */
export function playerKind (busName: string, identity: string): string {
  if (!busName.startsWith(MPRIS_PREFIX)) return 'mpv-ipc'
  const family = busName.slice(MPRIS_PREFIX.length).replace(INSTANCE_SUFFIX, '')
  return sanitizeText(`mpris:${family}:${identity}`, { maxChars: MAX_KIND_CHARS })
}
