import { request } from '../daemon/control.js'
import type { DaemonStatus } from '../daemon/daemon.js'
import { controlPath } from '../daemon/paths.js'
import { formatMs, formatTimecode } from '../daemon/format.js'
import { shortId } from '../mesh/names.js'
import { WatchmeshError } from '../errors.js'
import { sanitizeText } from '../text/sanitize.js'
import type { Io } from './io.js'

export interface StatusArgs {
  json: boolean
  control?: string
}

/** Asks the running daemon (over its control socket) who is here and where playback is. */
export async function runStatus (args: StatusArgs, io: Io): Promise<number> {
  const path = controlPath(io.env, args.control)
  const reply = await request(path, 'status')
  if (!isStatus(reply)) throw new WatchmeshError('CONTROL_UNAVAILABLE', `the daemon on ${path} answered something else than a status`)
  if (args.json) {
    io.out.write(JSON.stringify(reply, null, 2) + '\n')
    return 0
  }
  io.out.write(renderStatus(reply))
  return 0
}

type StatusPeer = DaemonStatus['peers'][number]

/** An older daemon's status has no uncertainty: say nothing rather than a wrong ±0. */
function uncertainty (ms: number | null | undefined): string {
  return typeof ms === 'number' ? ` ±${formatMs(ms)}` : ''
}

function bothSynced (s: DaemonStatus, p: StatusPeer): boolean {
  return s.clockSynced === true && p.clockSynced === true
}

/**
 * The offsets are measured two ways over the network, so a lopsided path (slow upload, fast
 * download) shifts them by up to half the quickest round trip, unseen; where both machines' OS keep
 * their clocks on time servers, the offset is narrowed by them (sync/peer-clocks.ts), and so is the ±.
 */
function clockLine (s: DaemonStatus): string {
  const ours = s.clockSynced === true ? 'this machine\'s clock is NTP-synced' : s.clockSynced === false ? 'this machine\'s clock is not NTP-synced' : 'NTP sync of this machine\'s clock unknown'
  return `${ours}; offsets are right within ± (a lopsided path can hide up to half the quickest round trip; two NTP-synced clocks narrow that)`
}

function isStatus (value: unknown): value is DaemonStatus {
  return typeof value === 'object' && value !== null && 'name' in value && 'peers' in value && Array.isArray((value as { peers: unknown }).peers)
}

/** Every string in a status came from peers or a player: each is sanitized before the terminal. */
export function renderStatus (s: DaemonStatus): string {
  const t = (text: string): string => sanitizeText(text)
  const lines: string[] = []
  lines.push(`${t(s.name)} (key ${t(shortId(s.key))})`)
  lines.push(`player:   ${s.player === null ? 'none found yet' : `${t(s.player.identity)} (${t(s.player.busName)})`}`)
  const leader = s.leader === null ? 'nobody yet' : t(s.leaderName ?? shortId(s.leader))
  lines.push(`leader:   ${leader}`)
  if (s.playback === null) {
    lines.push('playback: nothing has happened in this room yet')
  } else {
    const where = s.playback.positionMs === null ? '' : ` at ${formatTimecode(s.playback.positionMs)}`
    const media = s.playback.media === null ? '' : ` (${t(s.playback.media)})`
    lines.push(`playback: ${s.playback.playing ? 'playing' : 'paused'}${where}${media}`)
  }
  if (s.managed != null) lines.push(`room:     managed; ${s.managed.operator ? 'you are an operator' : 'the operators control playback'}`)
  if (typeof s.outputDelayMs === 'number' && s.outputDelayMs > 0) lines.push(`delay:    your player runs ${s.outputDelayMs} ms ahead (output delay)`)
  lines.push(`skew:     ${s.errorMs === null ? '-' : `${s.errorMs >= 0 ? '+' : ''}${formatMs(s.errorMs)}`} from the shared timeline`)
  if (s.clockSynced !== undefined) lines.push(`clock:    ${clockLine(s)}`)
  if (s.peers.length === 0) {
    lines.push('peers:    nobody else is here yet')
  } else {
    lines.push(`peers:    ${s.peers.length}`)
    const names = s.peers.map(p => t(p.name))
    const width = Math.max(...names.map(name => name.length))
    for (const [i, p] of s.peers.entries()) {
      const via = p.direct ? '' : '  (relayed)'
      lines.push(`  ${(names[i] ?? '').padEnd(width)}  ${t(shortId(p.key))}  rtt ${formatMs(p.rttMs)}  offset ${formatMs(p.offsetMs)}${uncertainty(p.offsetUncertaintyMs)}${bothSynced(s, p) ? '  (both clocks NTP-synced)' : ''}${via}`)
    }
  }
  return lines.join('\n') + '\n'
}
