/**
 * Builds a daemon from what a user asks for: derives the room keys, picks how the DHT binds,
 * and composes the real mesh and the player watcher of the chosen backend.
 */
import { deriveRoomKeysAsync } from '../mesh/keys.js'
import { SwarmMesh } from '../mesh/swarm-mesh.js'
import { onPrivateNetwork } from '../mesh/bootstrap.js'
import { isControlEvent } from '../sync/codec.js'
import { osClockSynced } from './clock-synced.js'
import type { PlayerWatcher } from '../player/player.js'
import { MpvIpcWatcher } from '../player/mpv-watcher.js'
import { Daemon } from './daemon.js'
import type { Notifier } from './notify.js'
import { OperatorGate } from './operator-gate.js'
import { commitmentOf, managedCommitment, operatorKeyPair } from '../mesh/operator.js'
import { WatchmeshError } from '../errors.js'
import type { Logger } from './log.js'
import type { RoomKeys } from '../mesh/types.js'

/** How the daemon reaches the player: MPRIS on the session bus, or one mpv's JSON IPC path. */
export type Backend =
  | { kind: 'mpris', selector?: string, busAddress?: string }
  | { kind: 'mpv-ipc', path: string }

export interface JoinOptions {
  passphrase: string
  /** The passphrase's room keys when their derivation is already under way; derived here otherwise. */
  keys?: Promise<RoomKeys>
  name: string
  /** Private DHT bootstrap nodes; undefined means the public Hyperswarm DHT. */
  bootstrap?: Array<{ host: string, port: number }>
  /** Default: MPRIS, following the playing player, else the only one. */
  backend?: Backend
  /** Which MPRIS player to follow (bus name or Identity); undefined: the playing one, else the only one. */
  player?: string
  /** D-Bus session bus address; undefined: DBUS_SESSION_BUS_ADDRESS. */
  busAddress?: string
  /** 32-byte seed of the node keypair, so a restarted daemon is recognised as the same viewer. */
  seed?: Uint8Array
  /** Desktop notifications of other people's actions. */
  notify?: boolean
  /** Messages about other people on the video, where the player can show them (default on). */
  osd?: boolean
  /** How late this viewer hears their player (headphones, a TV), ms: the player runs that far ahead. */
  outputDelayMs?: number
  /** The operator secret of a managed room (`watchmesh passphrase --managed`). */
  operatorSecret?: string
  logger: Logger
  trace?: (line: string) => void
}

export async function createDaemon (opts: JoinOptions): Promise<Daemon> {
  // The player's backend is made (its module loaded) while the KDF runs on the thread pool.
  const [keys, watcher] = await Promise.all([
    opts.keys ?? deriveRoomKeysAsync(opts.passphrase),
    createWatcher(opts.backend ?? { kind: 'mpris', selector: opts.player, busAddress: opts.busAddress })
  ])
  const gate = operatorGate(opts.passphrase, opts.operatorSecret, keys.roomId)
  const mesh = new SwarmMesh({
    keys,
    name: opts.name,
    seed: opts.seed,
    bootstrap: opts.bootstrap,
    host: dhtHost(opts.bootstrap),
    reachable: opts.bootstrap !== undefined && onPrivateNetwork(opts.bootstrap),
    urgent: isControlEvent
  })
  let notifier: Notifier | undefined
  if (opts.notify === true) {
    const { Notifier } = await import('./notify.js')
    notifier = new Notifier({ busAddress: opts.busAddress })
  }
  const daemon = new Daemon({ name: opts.name, mesh, watcher, logger: opts.logger, notifier, osd: opts.osd ?? true, trace: opts.trace, outputDelayMs: opts.outputDelayMs, gate })
  // Never on the way to joining: the answer comes when it comes (a child process, at most 2 s).
  void osClockSynced(process.platform).then(synced => daemon.learnClockSynced(synced))
  return daemon
}

/**
 * A managed room's passphrase commits to its operator key: an operator secret must be the one it
 * commits to, and is refused in an ordinary room (it would give no power there, silently).
 */
export function operatorGate (passphrase: string, operatorSecret: string | undefined, roomId: Uint8Array): OperatorGate | undefined {
  const commitment = managedCommitment(passphrase)
  if (commitment === null) {
    if (operatorSecret !== undefined) throw WatchmeshError.badUsage('this room is not managed: an operator secret only works with a passphrase from `watchmesh passphrase --managed`')
    return undefined
  }
  if (operatorSecret === undefined) return new OperatorGate({ roomId, commitment, keys: null })
  const keys = operatorKeyPair(operatorSecret)
  if (commitmentOf(keys.publicKey) !== commitment) throw WatchmeshError.badPassphrase('this operator secret is not this room\'s: check both, as printed by `watchmesh passphrase --managed`')
  return new OperatorGate({ roomId, commitment, keys })
}

/** The D-Bus library is loaded only for the MPRIS backend: over IPC the daemon needs no session bus. */
export async function createWatcher (backend: Backend): Promise<PlayerWatcher> {
  if (backend.kind === 'mpv-ipc') return new MpvIpcWatcher({ path: backend.path })
  const { MprisWatcher } = await import('../player/watcher.js')
  return new MprisWatcher({ busAddress: backend.busAddress, selector: backend.selector })
}

/**
 * A DHT bound to 0.0.0.0 cannot reach peers on loopback (docs/facts.md): when every
 * bootstrap node is on this machine, bind to 127.0.0.1 so a local network works.
 */
export function dhtHost (bootstrap: Array<{ host: string }> | undefined): string | undefined {
  if (bootstrap === undefined || bootstrap.length === 0) return undefined
  return bootstrap.every(b => isLoopback(b.host)) ? '127.0.0.1' : undefined
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
