import { readdir } from 'node:fs/promises'
import { formatTimecode } from '../daemon/format.js'
import { defaultMpvIpcPath, endpointsAreFiles, hostPlatform, runtimeDir } from '../platform.js'
import type { PlatformContext } from '../platform.js'
import { MpvIpcWatcher } from '../player/mpv-watcher.js'
import type { PlayerListing } from '../player/player.js'
import { describeError } from '../player/values.js'
import type { Io } from './io.js'

export interface PlayersArgs {
  json: boolean
  /** Also look for an mpv on this IPC path. */
  mpvIpc?: string
}

/**
 * Lists what watchmesh can see on this system: the MPRIS players on the session bus (the ones
 * `join --player` can name), when there is a bus, and the mpv IPC sockets it knows (the default
 * path, --mpv-ipc, and those of mpvs `join --open` started).
 */
export async function runPlayers (args: PlayersArgs, io: Io): Promise<number> {
  const platform = hostPlatform(io.env)
  const notes: string[] = []
  const players = [...await mprisPlayers(io.env, notes), ...await mpvPlayers(platform, args.mpvIpc, notes)]
  if (args.json) {
    io.out.write(JSON.stringify({ players, notes }, null, 2) + '\n')
    return players.length === 0 ? 1 : 0
  }
  for (const note of notes) io.out.write(`${note}\n`)
  if (players.length === 0) {
    io.out.write('No media players found.\nStart one: mpv with --input-ipc-server=' + defaultMpvIpcPath(platform) +
      ' (or let `watchmesh join --open FILE` start it), or on Linux any MPRIS player (mpv needs the mpv-mpris plugin; VLC, Celluloid and browsers speak MPRIS already).\n')
    return 1
  }
  for (const p of players) {
    const length = p.media?.lengthMs == null ? '' : ` [${formatTimecode(p.media.lengthMs)}]`
    io.out.write(`${p.busName}\t${p.identity}\t${p.playbackStatus}\t${p.media?.name ?? '-'}${length}\n`)
  }
  return 0
}

/** MPRIS players, when a session bus answers; the D-Bus library is loaded only then. */
async function mprisPlayers (env: NodeJS.ProcessEnv, notes: string[]): Promise<PlayerListing[]> {
  if (env.DBUS_SESSION_BUS_ADDRESS === undefined || env.DBUS_SESSION_BUS_ADDRESS === '') {
    notes.push('MPRIS: no D-Bus session bus here (DBUS_SESSION_BUS_ADDRESS is not set)')
    return []
  }
  const { MprisWatcher } = await import('../player/watcher.js')
  const watcher = new MprisWatcher({})
  try {
    return await watcher.list()
  } catch (err) {
    notes.push(`MPRIS: the session bus did not answer (${describeError(err)})`)
    return []
  } finally {
    await watcher.close()
  }
}

/** The mpv answering on each IPC path we know of. */
async function mpvPlayers (platform: PlatformContext, explicit: string | undefined, notes: string[]): Promise<PlayerListing[]> {
  const paths = new Set([defaultMpvIpcPath(platform), ...(explicit === undefined ? [] : [explicit])])
  if (endpointsAreFiles(platform)) {
    const dir = runtimeDir(platform)
    const own = await readdir(dir).catch(() => [])
    for (const name of own) if (/^mpv-\d+\.sock$/.test(name)) paths.add(`${dir}/${name}`)
  }
  const found: PlayerListing[] = []
  for (const path of paths) {
    const watcher = new MpvIpcWatcher({ path })
    const listed = await watcher.list()
    if (listed.length === 0) notes.push(`mpv IPC: nothing answers on ${path}`)
    found.push(...listed)
  }
  return found
}
