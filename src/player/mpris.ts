/**
 * A `Player` over MPRIS (org.mpris.MediaPlayer2.Player) on D-Bus.
 *
 * How it observes: MPRIS does not signal Position, so the player is read (GetAll, one round trip)
 * every POLL_INTERVAL_MS and whenever the daemon asks for `state()`; reads are stamped with their
 * round trip. Seeked and PropertiesChanged signals are observed as they come. Every observation,
 * read or signal, goes through one synchronous step of the shared observer (observer.ts), which
 * tells our own commands' echoes from the user's actions and where the player really is; the user's
 * actions are reported as events, in order. The player's messages arrive in order, but the library hands a reply over a
 * few microtasks later than a signal that arrived right after it; reads carry their arrival number
 * so that such a read is never applied over the newer signal.
 *
 * Bound to the player's unique bus name: after a restart under the same well-known name this
 * object reports `gone` and the watcher attaches a new one, so calls and signals can never reach
 * the wrong process.
 */
import { WatchmeshError } from '../errors.js'
import type { PlayerCapabilities, PlayerState, Player } from './player.js'
import {
  arrivalOrder, asBoolean, asNumber, asRecord, asString, asStringArray, busCall, callForReply, callMethod, CallTimeoutError, CALL_TIMEOUT_MS, describeError,
  getAllProperties, getProperty, isGoneError, plain, setProperty, DBUS_NAME, DBUS_PATH, PROPERTIES_IFACE
} from './dbus.js'
import type { ArrivalOrder, MessageBus } from './dbus.js'
import type { Expectation } from './ledger.js'
import { parseMetadata } from './metadata.js'
import type { Landing, Observation } from './observer.js'
import { ObservedPlayer } from './observed-player.js'
import { nudgeableFor, quirksFor, rateTakesEffectMsFor, signalsPlayAndSeekFor } from './quirks.js'
import { COARSE_STEP_MS } from './position.js'

export const MPRIS_PATH = '/org/mpris/MediaPlayer2'
export const ROOT_IFACE = 'org.mpris.MediaPlayer2'
export const PLAYER_IFACE = 'org.mpris.MediaPlayer2.Player'
/** SetPosition's "no track" id, for players that report none. */
const NO_TRACK = '/org/mpris/MediaPlayer2/TrackList/NoTrack'

/**
 * How often the player is read when nobody else reads it: fast enough to notice a user seek on a
 * player without Seeked within a quarter second, at a cost of ~4 tiny D-Bus calls a second.
 */
export const POLL_INTERVAL_MS = 250
/**
 * Each poll interval is varied by up to this fraction. A fixed 250 ms beats with a frame step of
 * 40 ms (or VLC's 500 ms refresh): the reads would hit the same few phases of the step forever and
 * the envelope would never find the edge (measured: 10 ms error instead of 2-4 ms).
 */
const POLL_JITTER = 0.3
/**
 * A paused player that has shown it signals its changes (PropertiesChanged with PlaybackStatus, and
 * Seeked) tells us of a play or a seek itself; nothing moves in between, so reading it 4 times a
 * second only costs CPU (a third of a paused daemon's). It is then read this seldom, as a backstop
 * for a lost signal. Longer than the daemon's own quiet cadence (POLL_PAUSED_QUIET_MS, driver.ts),
 * even less the jitter: while the daemon reads it, this poll never adds a read of its own.
 */
export const QUIET_POLL_INTERVAL_MS = 10_000
/**
 * A coarse player's next step edge (VLC: one a second) is read at the moment it is due, when that
 * is at most this far ahead: each such read halves what is known of its phase (position.ts).
 */
const EDGE_READ_HORIZON_MS = 1500
/**
 * VLC carries out a Pause within tens of ms (its PlaybackStatus changes then); a SetPosition sent
 * before that leaves the paused picture where it was. A coarse player's seek after our pause is
 * made again this long after the pause (a deadline with room for a busy machine, not a measurement).
 */
const PAUSE_LANDED_MS = 300
/** After our own seek: no Seeked by then means the player does not send it (VLC, Firefox). */
const SEEKED_EXPECTED_WITHIN_MS = 1_500
/** A seek target further out than this (30 years) is nonsense from a misbehaving caller. */
const MAX_POSITION_MS = 1e12

const ROOT_SIGNALS_XML = `<node>
  <interface name="org.mpris.MediaPlayer2.Player">
    <signal name="Seeked"><arg name="Position" type="x"/></signal>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <signal name="PropertiesChanged">
      <arg name="interface_name" type="s"/>
      <arg name="changed_properties" type="a{sv}"/>
      <arg name="invalidated_properties" type="as"/>
    </signal>
  </interface>
</node>`
const BUS_SIGNALS_XML = `<node>
  <interface name="org.freedesktop.DBus">
    <signal name="NameOwnerChanged"><arg type="s"/><arg type="s"/><arg type="s"/></signal>
  </interface>
</node>`

export interface MprisPlayerOptions {
  bus: MessageBus
  /** Well-known name, e.g. `org.mpris.MediaPlayer2.mpv`. */
  busName: string
  pollIntervalMs?: number
  /** Monotonic clock, ms. */
  now?: () => number
}

type Listener = (...args: unknown[]) => void
interface Subscription { off: () => void }

export class MprisPlayer extends ObservedPlayer implements Player {
  readonly busName: string
  private readonly bus: MessageBus
  private readonly pollIntervalMs: number
  private owner: string | null = null
  private identityText = ''
  private caps: PlayerCapabilities = {
    canSeek: false, canPause: false, canPlay: false, canControl: false, rateMin: 1, rateMax: 1, sendsSeeked: null
  }

  private readonly arrival: ArrivalOrder
  /** Arrival number of the last signal applied; reads that arrived before it are stale. */
  private lastSignalArrival = 0
  /** A PropertiesChanged has carried PlaybackStatus: this player signals play and pause itself. */
  private signalsStatus = false
  /** Known (by its bus name) to signal its plays and seeks before it has shown it. */
  private knownToSignal = false
  private lastReadMs = -Infinity
  private pollTimer: NodeJS.Timeout | null = null
  private edgeTimer: NodeJS.Timeout | null = null
  /** When our Pause of a playing player was sent, until the seek that follows it (see seek()). */
  private pauseSentMs: number | null = null
  private reseekTimer: NodeJS.Timeout | null = null
  private seekedTimer: NodeJS.Timeout | null = null
  private subscriptions: Subscription[] = []

  constructor (opts: MprisPlayerOptions) {
    super(opts.now)
    this.bus = opts.bus
    this.arrival = arrivalOrder(opts.bus)
    this.busName = opts.busName
    this.pollIntervalMs = opts.pollIntervalMs ?? POLL_INTERVAL_MS
  }

  get identity (): string {
    return this.identityText
  }

  /** Binds to the current owner of `busName`, subscribes, reads the player once, starts polling. */
  async start (): Promise<void> {
    if (this.state_ !== 'new') throw new Error('MprisPlayer.start() called twice')
    try {
      const [owner] = await busCall(this.bus, 'GetNameOwner', 's', [this.busName])
      if (typeof owner !== 'string') throw new Error('GetNameOwner returned no name')
      this.owner = owner
      // Subscribe before the first read, so no change falls between the read and the signals.
      await this.subscribe(owner)
      const root = await getAllProperties(this.bus, owner, MPRIS_PATH, ROOT_IFACE)
      this.identityText = asString(root.Identity) ?? this.busName.replace(/^org\.mpris\.MediaPlayer2\./, '')
      this.observer.rateTakesEffectMs = rateTakesEffectMsFor(this.busName)
      this.observer.setQuirks(quirksFor(this.busName))
      this.knownToSignal = signalsPlayAndSeekFor(this.busName)
      this.state_ = 'live'
      await this.read()
    } catch (err) {
      this.teardown()
      this.state_ = 'closed'
      if (err instanceof WatchmeshError) throw err
      throw isGoneError(err) ? WatchmeshError.playerGone(this.busName) : this.failed('attach', err)
    }
    this.schedulePoll()
  }

  capabilities (): PlayerCapabilities {
    return { ...this.caps, positionGranularityMs: this.observer.granularityMs(), rateTakesEffectMs: this.observer.rateTakesEffectMs, nudgeable: nudgeableFor(this.busName) }
  }

  async state (): Promise<PlayerState> {
    this.ensureLive()
    return await this.read()
  }

  async play (): Promise<void> {
    this.cancelReseek()
    await this.command({ kind: 'status', playing: true }, 'Play')
  }

  async pause (): Promise<void> {
    this.pauseSentMs = this.observer.stateAt(this.now()).playing ? this.now() : null
    await this.command({ kind: 'status', playing: false }, 'Pause')
  }

  async seek (positionMs: number): Promise<void> {
    if (!Number.isFinite(positionMs) || Math.abs(positionMs) > MAX_POSITION_MS) throw WatchmeshError.badUsage(`seek: bad position ${positionMs}`)
    this.ensureLive()
    const targetMs = Math.max(0, positionMs)
    const owner = this.owner as string
    // A fresh trackid: mpv silently ignores SetPosition with a stale one (after a file change).
    let trackId: string | null
    try {
      trackId = parseMetadata(await getProperty(this.bus, owner, MPRIS_PATH, PLAYER_IFACE, 'Metadata')).trackId
    } catch (err) {
      throw this.commandError('SetPosition', err)
    }
    const targetUs = BigInt(Math.round(targetMs * 1000))
    if (trackId === null) trackId = NO_TRACK
    this.cancelReseek()
    await this.command({ kind: 'seek', positionMs: targetMs }, 'SetPosition', 'ox', [trackId, targetUs])
    // VLC, given SetPosition while its own Pause is still being carried out, reports the target but
    // keeps showing the frame it paused on (a second SetPosition shows the right one): a coarse
    // player's seek that follows our pause of it is made again once the pause has surely landed.
    const pauseSentMs = this.pauseSentMs
    this.pauseSentMs = null
    if (pauseSentMs !== null && (this.observer.granularityMs() ?? 0) > COARSE_STEP_MS) {
      this.reseekTimer = setTimeout(() => {
        this.reseekTimer = null
        if (this.state_ !== 'live') return
        this.log('debug', `${this.busName} paused: seeking to ${Math.round(targetMs)} ms again`)
        this.seek(targetMs).catch((err: unknown) => this.log('debug', `seeking ${this.busName} again after its pause failed: ${describeError(err)}`))
      }, Math.max(0, pauseSentMs + PAUSE_LANDED_MS - this.now()))
    }
    if (this.caps.sendsSeeked === null && this.seekedTimer === null) {
      // Learn whether this player ever sends Seeked; a Seeked meanwhile settles it first.
      this.seekedTimer = setTimeout(() => {
        this.seekedTimer = null
        if (this.caps.sendsSeeked === null && this.state_ === 'live') this.caps.sendsSeeked = false
      }, SEEKED_EXPECTED_WITHIN_MS)
    }
  }

  /** OpenUri: the player loads `url` (keeping its pause state); not reported as a user event. */
  async open (url: string): Promise<void> {
    await this.command({ kind: 'media', url }, 'OpenUri', 's', [url])
  }

  async setRate (rate: number): Promise<void> {
    if (!Number.isFinite(rate) || rate <= 0) throw WatchmeshError.badUsage(`setRate: bad rate ${rate}`)
    this.ensureLive()
    if (rate < this.caps.rateMin || rate > this.caps.rateMax) {
      throw new WatchmeshError('PLAYER_COMMAND_FAILED', `${this.identityText} accepts rates ${this.caps.rateMin}..${this.caps.rateMax}, not ${rate}`)
    }
    if (await this.viewerSetRate()) return
    await this.tracked({ kind: 'rate', rate }, async lateAnswer => await setProperty(this.bus, this.owner as string, MPRIS_PATH, PLAYER_IFACE, 'Rate', 'd', rate, lateAnswer), unanswered)
      .catch((err: unknown) => { throw this.commandError('Rate', err) })
  }

  async close (): Promise<void> {
    if (this.state_ === 'closed') return
    this.teardown()
    this.state_ = 'closed'
    await this.emitChain
  }

  // --- commands ---------------------------------------------------------------------------

  private async command (exp: Expectation, member: string, signature = '', body: unknown[] = []): Promise<void> {
    this.ensureLive()
    const call = { destination: this.owner as string, path: MPRIS_PATH, iface: PLAYER_IFACE, member, signature, body }
    await this.tracked(exp, async lateAnswer => { await callMethod(this.bus, call, CALL_TIMEOUT_MS, lateAnswer) }, unanswered)
      .catch((err: unknown) => { throw this.commandError(member, err) })
  }

  private commandError (what: string, err: unknown): WatchmeshError {
    if (isGoneError(err)) {
      this.markGone()
      return WatchmeshError.playerGone(this.busName)
    }
    return this.failed(what, err)
  }

  private failed (what: string, err: unknown): WatchmeshError {
    const code = err instanceof CallTimeoutError ? 'PLAYER_NOT_ANSWERING' : 'PLAYER_COMMAND_FAILED'
    return new WatchmeshError(code, `${what} on ${this.busName} failed: ${describeError(err)}`, { cause: err })
  }

  private ensureLive (): void {
    if (this.state_ !== 'live') throw WatchmeshError.playerGone(this.busName)
  }

  // --- observing --------------------------------------------------------------------------

  /** One GetAll, stamped at the midpoint of its round trip, observed like any signal. */
  protected async read (): Promise<PlayerState> {
    const sentMs = this.now()
    let props: Record<string, unknown>
    let arrival: number
    try {
      const reply = await callForReply(this.bus, {
        destination: this.owner as string, path: MPRIS_PATH, iface: PROPERTIES_IFACE, member: 'GetAll', signature: 's', body: [PLAYER_IFACE]
      })
      props = asRecord(plain(reply.body[0])) ?? {}
      arrival = reply.arrival
    } catch (err) {
      throw this.commandError('reading', err)
    }
    const receivedMs = this.now()
    this.lastReadMs = receivedMs
    if (arrival < this.lastSignalArrival) {
      // Older than a signal already applied (they arrived together; the signal was handled first).
      // Applying it now would undo that signal: keep what is known.
      return this.observer.stateAt(receivedMs)
    }
    this.updateCapabilities(props)
    const obs: Observation = { atMs: (sentMs + receivedMs) / 2, sentMs, rttMs: receivedMs - sentMs }
    const status = playingFrom(props.PlaybackStatus)
    if (status !== null) obs.playing = status
    if (props.PlaybackStatus === 'Stopped') obs.stopped = true
    const rate = asNumber(props.Rate)
    if (rate !== null && rate > 0) obs.rate = rate
    if (props.Metadata !== undefined) obs.media = parseMetadata(props.Metadata).media
    const positionUs = asNumber(props.Position)
    if (positionUs !== null) obs.positionMs = positionUs / 1000
    const state = this.observe(obs, 'read')
    this.planEdgeRead()
    return state
  }

  private cancelReseek (): void {
    if (this.reseekTimer !== null) clearTimeout(this.reseekTimer)
    this.reseekTimer = null
  }

  /** A read at a coarse player's next step edge, if one is due soon (the latest plan replaces any earlier one). */
  private planEdgeRead (): void {
    const atMs = this.observer.nextEdgeMs()
    const inMs = atMs === null ? null : atMs - this.now()
    if (inMs === null || inMs <= 0 || inMs > EDGE_READ_HORIZON_MS) return
    if (this.edgeTimer !== null) clearTimeout(this.edgeTimer)
    this.edgeTimer = setTimeout(() => {
      this.edgeTimer = null
      if (this.state_ === 'live') this.readSoon()
    }, inMs)
  }

  /**
   * Applies one observation through the shared observer and reports what the user did.
   * Synchronous, so observations are applied in the order they arrived. Returns the state it implies.
   */
  private observe (obs: Observation, source: 'read' | 'signal'): PlayerState {
    const beforeMs = this.observer.stateAt(obs.atMs).positionMs
    const { state, kinds, wantsRead, endOfMedia } = this.observer.observe(obs, this.caps.sendsSeeked === true)
    if (kinds.includes('seek') && obs.positionMs !== undefined) this.log('debug', `${this.busName}: a seek of its user, ${source} ${Math.round(obs.positionMs)} ms where ${Math.round(beforeMs)} ms was expected`)
    if (endOfMedia) this.log('debug', `${this.busName} reached the end of ${state.media?.name ?? 'the file'}`)
    // A change seen only by a signal carries no position: re-anchor the timeline with a read.
    if (wantsRead) this.readSoon()
    if (kinds.length > 0) {
      // Signals get a fresh read for the event's state: a pause must carry the exact position it
      // happened at, and a signal says nothing about the properties it does not carry.
      this.report(kinds, source === 'signal' ? null : state)
    }
    return state
  }

  private onSeeked (positionUsRaw: unknown): void {
    if (this.state_ !== 'live' || !this.observer.started) return
    this.lastSignalArrival = this.arrival.latest
    const positionUs = asNumber(plain(positionUsRaw))
    if (positionUs === null) {
      this.log('debug', `${this.busName} sent a Seeked without a position; ignored`)
      return
    }
    this.caps.sendsSeeked = true
    const landed: Landing = { positionMs: positionUs / 1000, atMs: this.now() }
    const beforeMs = this.observer.stateAt(landed.atMs).positionMs
    if (this.observer.seeked(landed.positionMs, landed.atMs)) {
      this.log('debug', `${this.busName}: a seek of its user, Seeked ${Math.round(landed.positionMs)} ms where ${Math.round(beforeMs)} ms was expected`)
      // Where the observer anchored it: the Seeked's own position, but for a player known to report
      // a seek before it plays from there (VLC), that much before it (quirks.ts).
      landed.positionMs = this.observer.stateAt(landed.atMs).positionMs
      // Read for the event's state: a PropertiesChanged for an earlier change (our Pause, say)
      // may still be in mpv's ~100 ms batch, and the event must say whether it is playing.
      this.report(['seek'], null, landed)
    } else this.emit('landed')
  }

  private onPropertiesChanged (ifaceRaw: unknown, changedRaw: unknown, invalidatedRaw: unknown): void {
    if (this.state_ !== 'live' || !this.observer.started || ifaceRaw !== PLAYER_IFACE) return
    this.lastSignalArrival = this.arrival.latest
    const changed = asRecord(plain(changedRaw)) ?? {}
    const invalidated = asStringArray(plain(invalidatedRaw))
    this.updateCapabilities(changed)
    const obs: Observation = { atMs: this.now() }
    const status = playingFrom(changed.PlaybackStatus)
    if (status !== null) obs.playing = status
    if (changed.PlaybackStatus === 'Stopped') obs.stopped = true
    const rate = asNumber(changed.Rate)
    if (rate !== null && rate > 0) obs.rate = rate
    if (changed.Metadata !== undefined) obs.media = parseMetadata(changed.Metadata).media
    this.observe(obs, 'signal')
    if (status !== null) {
      this.signalsStatus = true
      // Playing again: back to the quick cadence now, not when the quiet poll was due.
      if (status) this.reschedulePoll()
    }
    // Some players only invalidate (no values): read them.
    if (invalidated.some(p => p === 'PlaybackStatus' || p === 'Rate' || p === 'Metadata')) this.readSoon()
  }

  private updateCapabilities (props: Record<string, unknown>): void {
    const c = this.caps
    c.canSeek = asBoolean(props.CanSeek) ?? c.canSeek
    c.canPause = asBoolean(props.CanPause) ?? c.canPause
    c.canPlay = asBoolean(props.CanPlay) ?? c.canPlay
    c.canControl = asBoolean(props.CanControl) ?? c.canControl
    const min = asNumber(props.MinimumRate)
    const max = asNumber(props.MaximumRate)
    if (min !== null && max !== null && min > 0 && min <= 1 && max >= 1) {
      c.rateMin = min
      c.rateMax = max
    }
  }

  // --- polling and lifetime ---------------------------------------------------------------

  /**
   * How often the player is read now when nobody else reads it: the quick period, unless it is
   * paused and has shown (or is known by its name, as mpv is) that it signals both a play
   * (PlaybackStatus) and a seek (Seeked), the only changes a paused player can make; then
   * QUIET_POLL_INTERVAL_MS.
   */
  pollPeriodMs (): number {
    return this.quiet() ? Math.max(this.pollIntervalMs, QUIET_POLL_INTERVAL_MS) : this.pollIntervalMs
  }

  /** Known (by its name, or seen) to signal both a play (PlaybackStatus) and a seek (Seeked). */
  tellsPlayAndSeek (): boolean {
    return this.knownToSignal || (this.signalsStatus && this.caps.sendsSeeked === true)
  }

  /** Paused, and known to signal both a play and a seek. */
  private quiet (): boolean {
    return this.tellsPlayAndSeek() && !this.observer.stateAt(this.now()).playing
  }

  private reschedulePoll (): void {
    if (this.pollTimer === null) return
    clearTimeout(this.pollTimer)
    this.pollTimer = null
    this.schedulePoll()
  }

  private schedulePoll (): void {
    if (this.state_ !== 'live') return
    // Reads made for the daemon count: poll only when nobody read the player recently.
    const periodMs = this.pollPeriodMs()
    const intervalMs = periodMs * (1 + (Math.random() * 2 - 1) * POLL_JITTER)
    const dueInMs = Math.max(0, this.lastReadMs + intervalMs - this.now())
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null
      if (this.state_ !== 'live') return
      if (this.now() - this.lastReadMs < this.pollPeriodMs() * (1 - POLL_JITTER)) {
        this.schedulePoll()
        return
      }
      this.read().catch((err: unknown) => {
        if (!(err instanceof WatchmeshError && err.code === 'PLAYER_GONE')) this.log('debug', `reading ${this.busName} failed: ${describeError(err)}`)
      }).finally(() => this.schedulePoll())
    }, dueInMs)
  }

  private async subscribe (owner: string): Promise<void> {
    const obj = await this.bus.getProxyObject(owner, MPRIS_PATH, ROOT_SIGNALS_XML)
    const player = obj.getInterface(PLAYER_IFACE)
    const props = obj.getInterface('org.freedesktop.DBus.Properties')
    const dbusObj = await this.bus.getProxyObject(DBUS_NAME, DBUS_PATH, BUS_SIGNALS_XML)
    const dbus = dbusObj.getInterface(DBUS_NAME)

    const onSeeked: Listener = (pos) => this.guard(() => this.onSeeked(pos))
    const onProps: Listener = (iface, changed, invalidated) => this.guard(() => this.onPropertiesChanged(iface, changed, invalidated))
    const onOwner: Listener = (name, oldOwner, newOwner) => {
      // Our process left the bus, or handed the well-known name to another process.
      if ((name === owner && newOwner === '') || (name === this.busName && oldOwner === owner)) this.markGone()
    }
    // Adding a listener makes the library send AddMatch; removing the last one sends RemoveMatch.
    player.on('Seeked', onSeeked)
    props.on('PropertiesChanged', onProps)
    dbus.on('NameOwnerChanged', onOwner)
    this.subscriptions.push(
      { off: () => player.removeListener('Seeked', onSeeked) },
      { off: () => props.removeListener('PropertiesChanged', onProps) },
      { off: () => dbus.removeListener('NameOwnerChanged', onOwner) }
    )
    // The owner may have left before the match rules were in place.
    const [hasOwner] = await busCall(this.bus, 'NameHasOwner', 's', [owner])
    if (hasOwner !== true) throw WatchmeshError.playerGone(this.busName)
  }

  protected teardown (): void {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer)
    if (this.seekedTimer !== null) clearTimeout(this.seekedTimer)
    if (this.edgeTimer !== null) clearTimeout(this.edgeTimer)
    this.cancelReseek()
    this.pollTimer = null
    this.seekedTimer = null
    this.edgeTimer = null
    for (const s of this.subscriptions) s.off()
    this.subscriptions = []
  }
}

/** A call with no reply in time may still be carried out by the player (ObservedPlayer.tracked). */
function unanswered (err: unknown): boolean {
  return err instanceof CallTimeoutError
}

function playingFrom (status: unknown): boolean | null {
  if (status === 'Playing') return true
  if (status === 'Paused' || status === 'Stopped') return false
  return null
}
