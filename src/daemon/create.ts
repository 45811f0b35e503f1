/**
 * Builds a daemon from what a user asks for: derives the room keys, picks how the DHT binds,
 * and composes the real mesh and player watcher.
 */
import { deriveRoomKeys } from '../mesh/keys.js'
import { SwarmMesh } from '../mesh/swarm-mesh.js'
import { onPrivateNetwork } from '../mesh/bootstrap.js'
import { MprisWatcher } from '../player/watcher.js'
import { Daemon } from './daemon.js'
import { Notifier } from './notify.js'
import type { Logger } from './log.js'

export interface JoinOptions {
  passphrase: string
  name: string
  /** Private DHT bootstrap nodes; undefined means the public Hyperswarm DHT. */
  bootstrap?: Array<{ host: string, port: number }>
  /** Which MPRIS player to follow (bus name or Identity); undefined: the playing one, else the only one. */
  player?: string
  /** D-Bus session bus address; undefined: DBUS_SESSION_BUS_ADDRESS. */
  busAddress?: string
  /** 32-byte seed of the node keypair, so a restarted daemon is recognised as the same viewer. */
  seed?: Uint8Array
  /** Desktop notifications of other people's actions. */
  notify?: boolean
  logger: Logger
  trace?: (line: string) => void
}

export function createDaemon (opts: JoinOptions): Daemon {
  const keys = deriveRoomKeys(opts.passphrase)
  const mesh = new SwarmMesh({
    keys,
    name: opts.name,
    seed: opts.seed,
    bootstrap: opts.bootstrap,
    host: dhtHost(opts.bootstrap),
    reachable: opts.bootstrap !== undefined && onPrivateNetwork(opts.bootstrap)
  })
  const watcher = new MprisWatcher({ busAddress: opts.busAddress, selector: opts.player })
  const notifier = opts.notify === true ? new Notifier({ busAddress: opts.busAddress }) : undefined
  return new Daemon({ name: opts.name, mesh, watcher, logger: opts.logger, notifier, trace: opts.trace })
}

/**
 * A DHT bound to 0.0.0.0 cannot reach peers on loopback (facts.md, hyperswarm#222): when every
 * bootstrap node is on this machine, bind to 127.0.0.1 so a local network works.
 */
export function dhtHost (bootstrap: Array<{ host: string }> | undefined): string | undefined {
  if (bootstrap === undefined || bootstrap.length === 0) return undefined
  return bootstrap.every(b => isLoopback(b.host)) ? '127.0.0.1' : undefined
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
