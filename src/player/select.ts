/**
 * Which MPRIS player to follow. Pure: given what is on the bus, pick one or say why none.
 */

export const MPRIS_PREFIX = 'org.mpris.MediaPlayer2.'

/**
 * Names that re-export another player's interface and signals: following one would see every
 * change twice, or the wrong player after it switches. playerctld is the common one.
 */
const PROXY_PLAYERS = ['playerctld']

export interface Candidate {
  busName: string
  identity: string
  playing: boolean
}

export type Choice =
  | { ok: true, busName: string }
  | { ok: false, reason: 'none' | 'no-match' | 'ambiguous', message: string }

/** `org.mpris.MediaPlayer2.vlc.instance42` -> `vlc.instance42`; null for non-MPRIS names. */
export function playerSuffix (busName: string): string | null {
  return busName.startsWith(MPRIS_PREFIX) && busName.length > MPRIS_PREFIX.length ? busName.slice(MPRIS_PREFIX.length) : null
}

export function isPlayerName (busName: string): boolean {
  const suffix = playerSuffix(busName)
  if (suffix === null) return false
  const first = suffix.split('.')[0] ?? ''
  return !PROXY_PLAYERS.includes(first.toLowerCase())
}

/**
 * `--player` matches the bus name's suffix (`mpv` also matches `mpv.instance123`, as with
 * playerctl), the full bus name, or the Identity, case-insensitively.
 */
export function matchesSelector (c: { busName: string, identity: string }, selector: string): boolean {
  const sel = selector.trim().toLowerCase()
  if (sel === '') return true
  const suffix = (playerSuffix(c.busName) ?? '').toLowerCase()
  return suffix === sel || suffix.startsWith(sel + '.') || c.busName.toLowerCase() === sel || c.identity.toLowerCase() === sel
}

/**
 * The selection rule: with a selector, the matching player (the playing one among several);
 * without, the playing one, else the only one. Ties go to the lowest bus name, so every run
 * picks the same one.
 */
export function choosePlayer (candidates: Candidate[], selector?: string): Choice {
  const names = (cs: Candidate[]): string => cs.map(c => `${playerSuffix(c.busName) ?? c.busName} (${c.identity})`).join(', ')
  const sorted = [...candidates].sort((a, b) => a.busName < b.busName ? -1 : a.busName > b.busName ? 1 : 0)
  if (sorted.length === 0) {
    return { ok: false, reason: 'none', message: 'no MPRIS media player on the session bus: start one (mpv needs the mpv-mpris plugin; VLC and browsers speak MPRIS already)' }
  }
  let pool = sorted
  if (selector !== undefined && selector.trim() !== '') {
    pool = sorted.filter(c => matchesSelector(c, selector))
    if (pool.length === 0) {
      return { ok: false, reason: 'no-match', message: `no player matches --player=${selector}; found: ${names(sorted)}` }
    }
  }
  const playing = pool.find(c => c.playing)
  if (playing !== undefined) return { ok: true, busName: playing.busName }
  const only = pool[0]
  if (pool.length === 1 && only !== undefined) return { ok: true, busName: only.busName }
  return { ok: false, reason: 'ambiguous', message: `several players and none is playing: ${names(pool)}; start one playing, or choose with --player` }
}
