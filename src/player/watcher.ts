/**
 * Finds the MPRIS player to follow and keeps following it: watches NameOwnerChanged for players
 * coming and going, attaches an `MprisPlayer` to the chosen one, and when it goes (quit, crash,
 * restart) detaches and attaches again to whichever player the selection rule picks next.
 *
 * While detached it also rescans every RESCAN_INTERVAL_MS: "the playing one" can change without
 * any name appearing on the bus (two paused players, the user presses play on one).
 */
import { EventEmitter } from 'node:events'
import { WatchmeshError } from '../errors.js'
import type { Player, PlayerListing, PlayerWatcher, PlayerWatcherEvents } from './player.js'
import { asString, busCall, connectBus, describeError, getAllProperties, getProperty, DBUS_NAME, DBUS_PATH } from './dbus.js'
import type { MessageBus } from './dbus.js'
import { parseMetadata } from './metadata.js'
import { MprisPlayer, MPRIS_PATH, PLAYER_IFACE, ROOT_IFACE } from './mpris.js'
import { choosePlayer, isPlayerName, playerSuffix } from './select.js'
import type { Candidate, Choice } from './select.js'

/** While no player is attached: how often to look again (cheap: one ListNames and a few Gets). */
export const RESCAN_INTERVAL_MS = 1_000
/** A player that does not answer a listing call within this is listed as Unknown, not waited for. */
const LIST_CALL_TIMEOUT_MS = 1_000
/** More MPRIS players than this on one session bus is not a desktop; list the first ones only. */
const MAX_PLAYERS_LISTED = 32

const BUS_SIGNALS_XML = `<node>
  <interface name="org.freedesktop.DBus">
    <signal name="NameOwnerChanged"><arg type="s"/><arg type="s"/><arg type="s"/></signal>
  </interface>
</node>`

export interface MprisWatcherOptions {
  /** Default: DBUS_SESSION_BUS_ADDRESS. */
  busAddress?: string
  /** `--player`: bus name suffix or Identity. */
  selector?: string
  /** Passed to each MprisPlayer. */
  pollIntervalMs?: number
}

export class MprisWatcher extends EventEmitter<PlayerWatcherEvents> implements PlayerWatcher {
  private readonly opts: MprisWatcherOptions
  private bus: MessageBus | null = null
  private connecting: Promise<MessageBus> | null = null
  private attached: MprisPlayer | null = null
  private started = false
  private closed = false
  private scanning: Promise<void> | null = null
  private rescanRequested = false
  private rescanTimer: NodeJS.Timeout | null = null
  private unsubscribe: (() => void) | null = null

  constructor (opts: MprisWatcherOptions = {}) {
    super()
    this.opts = opts
  }

  get current (): Player | null {
    return this.attached
  }

  /** Connects, attaches to a player if one is there now; otherwise keeps looking. Never NO_PLAYER. */
  async start (): Promise<void> {
    if (this.started) throw new Error('MprisWatcher.start() called twice')
    this.started = true
    const bus = await this.connect()
    const dbusObj = await bus.getProxyObject(DBUS_NAME, DBUS_PATH, BUS_SIGNALS_XML)
    const dbus = dbusObj.getInterface(DBUS_NAME)
    const onOwner = (name: unknown, _old: unknown, newOwner: unknown): void => {
      // A player appeared (or came back): look again if we are waiting for one. Departures are
      // seen by the attached player itself (it reports `gone`).
      if (typeof name === 'string' && isPlayerName(name) && newOwner !== '' && this.attached === null) this.requestScan()
    }
    dbus.on('NameOwnerChanged', onOwner)
    this.unsubscribe = () => dbus.removeListener('NameOwnerChanged', onOwner)
    await this.scan()
    this.armRescan()
  }

  /** Every MPRIS player on the bus (proxies skipped). Works with or without `start()`. */
  async list (): Promise<PlayerListing[]> {
    const bus = await this.connect()
    const names = await this.playerNames(bus)
    return await Promise.all(names.map(async name => await this.describe(bus, name)))
  }

  /** The player the selection rule picks now, or NO_PLAYER with a message saying why not. */
  async choose (): Promise<PlayerListing> {
    const listings = await this.list()
    const choice = choosePlayer(listings.map(toCandidate), this.opts.selector)
    const chosen = choice.ok ? listings.find(l => l.busName === choice.busName) : undefined
    if (!choice.ok || chosen === undefined) throw WatchmeshError.noPlayer(choice.ok ? 'the chosen player went away' : choice.message)
    return chosen
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.rescanTimer !== null) clearTimeout(this.rescanTimer)
    this.rescanTimer = null
    this.unsubscribe?.()
    this.unsubscribe = null
    await this.scanning?.catch(() => {})
    const player = this.attached
    this.attached = null
    await player?.close()
    let bus: MessageBus | null = this.bus
    if (bus === null && this.connecting !== null) bus = await this.connecting.catch(() => null)
    bus?.disconnect()
    this.bus = null
  }

  // ---------------------------------------------------------------------------------------

  private async connect (): Promise<MessageBus> {
    if (this.closed) throw WatchmeshError.noPlayer('the player watcher is closed')
    if (this.bus !== null) return this.bus
    this.connecting ??= connectBus(this.opts.busAddress, err => this.log('warn', `D-Bus connection error: ${err.message}`))
    this.bus = await this.connecting
    return this.bus
  }

  private async playerNames (bus: MessageBus): Promise<string[]> {
    const [names] = await busCall(bus, 'ListNames')
    if (!Array.isArray(names)) return []
    return names.filter((n): n is string => typeof n === 'string' && isPlayerName(n)).sort().slice(0, MAX_PLAYERS_LISTED)
  }

  private async describe (bus: MessageBus, busName: string): Promise<PlayerListing> {
    const listing: PlayerListing = { busName, identity: playerSuffix(busName) ?? busName, playbackStatus: 'Unknown', media: null }
    try {
      const [identity, props] = await Promise.all([
        getProperty(bus, busName, MPRIS_PATH, ROOT_IFACE, 'Identity', LIST_CALL_TIMEOUT_MS),
        getAllProperties(bus, busName, MPRIS_PATH, PLAYER_IFACE, LIST_CALL_TIMEOUT_MS)
      ])
      listing.identity = asString(identity) ?? listing.identity
      const status = props.PlaybackStatus
      if (status === 'Playing' || status === 'Paused' || status === 'Stopped') listing.playbackStatus = status
      listing.media = parseMetadata(props.Metadata).media
    } catch (err) {
      this.log('debug', `${busName} did not answer: ${describeError(err)}`)
    }
    return listing
  }

  private requestScan (): void {
    if (this.closed || !this.started) return
    if (this.scanning !== null) {
      this.rescanRequested = true
      return
    }
    this.scan().catch((err: unknown) => this.log('warn', `looking for players failed: ${describeError(err)}`))
  }

  /** One look at the bus; attaches when the rule picks a player. At most one scan runs at a time. */
  private async scan (): Promise<void> {
    if (this.scanning !== null) {
      this.rescanRequested = true
      return await this.scanning
    }
    this.scanning = (async () => {
      do {
        this.rescanRequested = false
        if (this.attached !== null || this.closed) return
        const bus = await this.connect()
        const listings = await Promise.all((await this.playerNames(bus)).map(async n => await this.describe(bus, n)))
        const choice: Choice = choosePlayer(listings.map(toCandidate), this.opts.selector)
        if (choice.ok) await this.attach(bus, choice.busName)
      } while (this.rescanRequested && this.attached === null && !this.closed)
    })()
    try {
      await this.scanning
    } finally {
      this.scanning = null
    }
  }

  private async attach (bus: MessageBus, busName: string): Promise<void> {
    const player = new MprisPlayer({ bus, busName, ...(this.opts.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.opts.pollIntervalMs }) })
    player.on('log', entry => this.emit('log', entry))
    try {
      await player.start()
    } catch (err) {
      this.log('warn', `could not attach to ${busName}: ${describeError(err)}`)
      return
    }
    if (this.closed) {
      await player.close()
      return
    }
    player.once('gone', () => {
      if (this.attached !== player) return
      this.attached = null
      this.log('debug', `${busName} went away`)
      this.emit('detach', player)
      this.requestScan()
      this.armRescan()
    })
    this.attached = player
    this.log('debug', `following ${player.identity} (${busName})`)
    this.emit('attach', player)
  }

  /** Rescans on a timer while detached; stops by itself once attached. */
  private armRescan (): void {
    if (this.rescanTimer !== null || this.closed) return
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = null
      if (this.closed || this.attached !== null) return
      this.requestScan()
      this.armRescan()
    }, RESCAN_INTERVAL_MS)
  }

  private log (level: 'info' | 'warn' | 'debug', msg: string): void {
    this.emit('log', { level, msg })
  }
}

function toCandidate (l: PlayerListing): Candidate {
  return { busName: l.busName, identity: l.identity, playing: l.playbackStatus === 'Playing' }
}
