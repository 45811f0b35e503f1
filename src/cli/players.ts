import { MprisWatcher } from '../player/watcher.js'
import { formatTimecode } from '../daemon/format.js'
import type { Io } from './io.js'

export interface PlayersArgs {
  json: boolean
}

/** Lists the MPRIS players on the session bus (the ones `join --player` can name). */
export async function runPlayers (args: PlayersArgs, io: Io): Promise<number> {
  const watcher = new MprisWatcher({})
  try {
    const players = await watcher.list()
    if (args.json) {
      io.out.write(JSON.stringify({ players }, null, 2) + '\n')
      return 0
    }
    if (players.length === 0) {
      io.out.write('No MPRIS media players found on the session bus.\nStart one (mpv needs the mpv-mpris plugin; VLC, Celluloid and browsers speak MPRIS already).\n')
      return 1
    }
    for (const p of players) {
      const length = p.media?.lengthMs == null ? '' : ` [${formatTimecode(p.media.lengthMs)}]`
      io.out.write(`${p.busName}\t${p.identity}\t${p.playbackStatus}\t${p.media?.name ?? '-'}${length}\n`)
    }
    return 0
  } finally {
    await watcher.close()
  }
}
