/**
 * Finds the MPRIS player to follow and keeps following it: watches NameOwnerChanged for players
 * coming and going, attaches an `MprisPlayer` to the chosen one, and when it goes (quit, crash,
 * restart) detaches and attaches again to whichever player the selection rule picks next.
 *
 * While detached it also rescans every RESCAN_INTERVAL_MS: "the playing one" can change without
 * any name appearing on the bus (two paused players, the user presses play on one).
 *
 * The session bus itself can go (dbus-daemon restarted, a broken socket): a connection error is
 * checked with a call, and a dead connection is dropped, said once, and made again by the next
 * rescan, so the daemon follows the player again once the bus is back.
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
  /** The connection whose NameOwnerChanged we follow. */
  private watchedBus: MessageBus | null = null
  /** The bus connection was lost and not made again yet (said once, not at every rescan). */
  private busLost = false
  /** The last scan failure logged as a warning; the same again is only debug. */
  private lastScanError: string | null = null
  /** The last attach failure logged as a warning; the same again is only debug. */
  private lastAttachError: string | null = null
  /** Why the last scan chose no player (none on the bus, none matches, several and none playing). */
  private unchosen: string | null = null

  constructor (opts: MprisWatcherOptions = {}) {
    super()
    this.opts = opts
  }

  get current (): Player | null {
    return this.attached
  }

  get notFollowing (): string | null {
    if (this.attached !== null) return null
    if (this.busLost) return 'the D-Bus session bus is gone'
    return this.unchosen ?? 'no MPRIS media player found yet'
  }

  /** Connects, attaches to a player if one is there now; otherwise keeps looking. Never NO_PLAYER. */
  async start (): Promise<void> {
    if (this.started) throw new Error('MprisWatcher.start() called twice')
    this.started = true
    await this.watchNames(await this.connect())
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
    this.connecting ??= this.open()
    try {
      return await this.connecting
    } finally {
      this.connecting = null
    }
  }

  private async open (): Promise<MessageBus> {
    let opened: MessageBus | null = null
    const bus = await connectBus(this.opts.busAddress, err => { if (opened !== null) this.onBusError(opened, err) })
    opened = bus
    if (this.closed) {
      bus.disconnect()
      throw WatchmeshError.noPlayer('the player watcher is closed')
    }
    this.bus = bus
    if (this.started) await this.watchNames(bus)
    if (this.busLost) {
      this.busLost = false
      this.log('info', 'connected to the D-Bus session bus again')
    }
    return bus
  }

  /** Follows NameOwnerChanged on `bus` (once per connection) to hear of players appearing. */
  private async watchNames (bus: MessageBus): Promise<void> {
    if (this.watchedBus === bus) return
    this.watchedBus = bus
    const dbusObj = await bus.getProxyObject(DBUS_NAME, DBUS_PATH, BUS_SIGNALS_XML)
    const dbus = dbusObj.getInterface(DBUS_NAME)
    const onOwner = (name: unknown, _old: unknown, newOwner: unknown): void => {
      // A player appeared (or came back): look again if we are waiting for one. Departures are
      // seen by the attached player itself (it reports `gone`).
      if (typeof name === 'string' && isPlayerName(name) && newOwner !== '' && this.attached === null) this.requestScan()
    }
    dbus.on('NameOwnerChanged', onOwner)
    this.unsubscribe = () => dbus.removeListener('NameOwnerChanged', onOwner)
  }

  /** An error on the connection: fatal only if the bus no longer answers. */
  private onBusError (bus: MessageBus, err: Error): void {
    if (this.closed) return // our own disconnect
    this.log('debug', `D-Bus connection error: ${err.message}`)
    void this.checkBus(bus)
  }

  private async checkBus (bus: MessageBus): Promise<void> {
    if (this.bus !== bus || this.closed) return
    try {
      await busCall(bus, 'GetId')
    } catch (err) {
      this.dropBus(bus, describeError(err))
    }
  }

  /** Forgets a dead connection and the player seen through it; the rescans connect again. */
  private dropBus (bus: MessageBus, reason: string): void {
    if (this.bus !== bus || this.closed) return
    this.bus = null
    this.watchedBus = null
    this.unsubscribe?.()
    this.unsubscribe = null
    bus.disconnect()
    if (!this.busLost) {
      this.busLost = true
      this.log('warn', `lost the D-Bus session bus (${reason}); connecting again as soon as it is back`)
    }
    const player = this.attached
    if (player !== null) {
      this.attached = null
      this.emit('detach', player)
      player.close().catch(() => {})
    }
    this.requestScan()
    this.armRescan()
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
    this.scan().then(() => { this.lastScanError = null }, (err: unknown) => this.scanFailed(err))
  }

  private scanFailed (err: unknown): void {
    if (this.bus !== null) void this.checkBus(this.bus)
    const text = describeError(err)
    // While the bus is gone every rescan fails the same way: that was said once already.
    const repeated = this.busLost || text === this.lastScanError
    this.lastScanError = text
    this.log(repeated ? 'debug' : 'warn', `looking for players failed: ${text}`)
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
        this.unchosen = choice.ok ? null : choice.message
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
      // A player that does not answer is tried at every rescan: said once, then only with --verbose.
      const text = `could not attach to ${busName}: ${describeError(err)}`
      this.log(text === this.lastAttachError ? 'debug' : 'warn', text)
      this.lastAttachError = text
      return
    }
    this.lastAttachError = null
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
