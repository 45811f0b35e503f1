/**
 * A `Player` over mpv's JSON IPC (mpv-socket.ts): for mpv, mpv.net and IINA on any system, with no
 * D-Bus at all.
 *
 * How it observes: mpv pushes every change of the properties we observe (pause, speed, path,
 * duration, media-title, and time-pos, which moves once per frame while playing). The daemon's
 * `state()` and a slow poll also read the player (pause, speed and time-pos in one pipelined
 * round trip, stamped with its midpoint). mpv's `playback-restart` event follows every seek, ours
 * and the user's, and the time-pos pushed just before it is where the seek landed: that is our
 * Seeked. Every observation goes through one synchronous step of the
 * shared observer (observer.ts), exactly as the MPRIS backend does; replies carry their arrival
 * number so that a read is never applied over a newer pushed change.
 *
 * Bound to one connection: when the socket closes (mpv quit or crashed) this object reports `gone`;
 * a watcher connects a new one when an mpv listens on the path again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isWatchmeshError, WatchmeshError } from '../errors.js'
import type { Expectation } from './ledger.js'
import { mediaInfo } from './metadata.js'
import type { MediaInfo, Player, PlayerCapabilities, PlayerState } from './player.js'
import { MPV_RATE_TAKES_EFFECT_MS } from './quirks.js'
import type { Landing, Observation } from './observer.js'
import { ObservedPlayer } from './observed-player.js'
import { MpvSocket } from './mpv-socket.js'
import type { MpvEvent } from './mpv-socket.js'
import { asNumber, asString, describeError } from './values.js'

/** Pushed changes carry everything but a round-trip-stamped position; a read this often keeps the phase honest. */
export const IPC_POLL_INTERVAL_MS = 1_000
/**
 * Paused, mpv pushes what can change (a play as `pause`, a seek as its events) and the position
 * stands still: a read only backs up a lost push. Longer than the daemon's quiet cadence
 * (POLL_PAUSED_QUIET_MS, driver.ts): while the daemon reads, this poll adds no read of its own.
 */
export const IPC_QUIET_POLL_INTERVAL_MS = 10_000
/** mpv's own speed limits (its `speed` option accepts 0.01..100). */
const RATE_MIN = 0.01
const RATE_MAX = 100
/** A seek target further out than this (30 years) is nonsense from a misbehaving caller. */
const MAX_POSITION_MS = 1e12
/** How long an on-screen message stays when the caller does not say. */
export const OSD_DEFAULT_MS = 4_000
/**
 * mpv listens on its socket before it has opened its file (~0.1 s): a first read then would see no
 * file and no position, and the file appearing would read as the user opening one (its start
 * position as a seek). Wait this long for a position (an mpv started with --idle and no file never
 * has one: then start without).
 */
const FIRST_FILE_WAIT_MS = 2_000
const FIRST_FILE_POLL_MS = 25
/** Observe ids, one per property (mpv echoes the id in each property-change). */
const OBSERVED = ['pause', 'speed', 'path', 'duration', 'media-title', 'time-pos'] as const

export interface MpvIpcPlayerOptions {
  /** The socket (Unix) or pipe (Windows) mpv was started with (`--input-ipc-server`). */
  path: string
  pollIntervalMs?: number
  /** Monotonic clock, ms. */
  now?: () => number
}

/** What mpv said about the file, kept between pushes (each push carries one property). */
interface FileFacts {
  path: string | null
  title: string | null
  durationMs: number | null
}

export class MpvIpcPlayer extends ObservedPlayer implements Player {
  readonly ipcPath: string
  private readonly pollIntervalMs: number
  private socket: MpvSocket | null = null
  private identityText = 'mpv'
  private workingDir = ''
  private readonly file: FileFacts = { path: null, title: null, durationMs: null }
  private sendsSeeked: boolean | null = null
  /** The latest time-pos mpv pushed, when it arrived, and its arrival number. */
  private lastTimePos: { positionMs: number, atMs: number, arrival: number } | null = null
  /** Arrival number of mpv's latest `seek` event (a seek started). */
  private seekArrival = 0
  /** Arrival number of the last pushed change applied; replies that arrived before it are stale. */
  private lastEventArrival = 0
  private lastReadMs = -Infinity
  private pollTimer: NodeJS.Timeout | null = null

  constructor (opts: MpvIpcPlayerOptions) {
    super(opts.now)
    this.ipcPath = opts.path
    this.pollIntervalMs = opts.pollIntervalMs ?? IPC_POLL_INTERVAL_MS
    this.observer.rateTakesEffectMs = MPV_RATE_TAKES_EFFECT_MS
  }

  /** Where this player is reached, shown where MPRIS players show their bus name. */
  get busName (): string {
    return `mpv IPC ${this.ipcPath}`
  }

  get identity (): string {
    return this.identityText
  }

  /** Connects, reads the player once, then observes its properties. Rejects with PLAYER_GONE when no mpv answers. */
  async start (): Promise<void> {
    if (this.state_ !== 'new') throw new Error('MpvIpcPlayer.start() called twice')
    try {
      const socket = await MpvSocket.connect(this.ipcPath)
      this.socket = socket
      socket.on('close', () => this.markGone())
      socket.on('garbage', what => this.log('debug', `ignored from mpv at ${this.ipcPath}: ${what}`))
      socket.on('event', (ev, arrival) => this.guard(() => this.onEvent(ev, arrival)))
      const [version, cwd] = await Promise.all([
        socket.command(['get_property', 'mpv-version']).catch(() => null),
        socket.command(['get_property', 'working-directory']).catch(() => null)
      ])
      const versionText = asString(version?.data)
      if (versionText !== null) this.identityText = versionText.split(' ').slice(0, 2).join(' ')
      this.workingDir = asString(cwd?.data) ?? ''
      await waitForFile(socket)
      this.state_ = 'live'
      await this.readWith(true)
      // Subscribe after the first read: mpv answers each observe with the current value, so a
      // change between the read and the subscription is still seen (as a change).
      await Promise.all(OBSERVED.map(async (name, i) => await socket.command(['observe_property', i + 1, name])))
    } catch (err) {
      this.state_ = 'closed'
      this.teardown()
      if (err instanceof WatchmeshError) throw err
      throw new WatchmeshError('PLAYER_COMMAND_FAILED', `attaching to mpv at ${this.ipcPath} failed: ${describeError(err)}`, { cause: err })
    }
    this.schedulePoll()
  }

  /** mpv pushes a play (`pause`) and a seek (`seek`, `playback-restart`) on every IPC connection. */
  tellsPlayAndSeek (): boolean {
    return true
  }

  capabilities (): PlayerCapabilities {
    const open = this.file.path !== null
    return {
      canSeek: open,
      canPause: open,
      canPlay: open,
      canControl: true,
      rateMin: RATE_MIN,
      rateMax: RATE_MAX,
      sendsSeeked: this.sendsSeeked,
      positionGranularityMs: this.observer.granularityMs(),
      rateTakesEffectMs: this.observer.rateTakesEffectMs
    }
  }

  async state (): Promise<PlayerState> {
    this.ensureLive()
    return await this.read()
  }

  async play (): Promise<void> {
    await this.command({ kind: 'status', playing: true }, ['set_property', 'pause', false])
  }

  async pause (): Promise<void> {
    await this.command({ kind: 'status', playing: false }, ['set_property', 'pause', true])
  }

  /** Exact absolute seek (`absolute+exact`: the very frame, not the keyframe before it). */
  async seek (positionMs: number): Promise<void> {
    if (!Number.isFinite(positionMs) || Math.abs(positionMs) > MAX_POSITION_MS) throw WatchmeshError.badUsage(`seek: bad position ${positionMs}`)
    const targetMs = Math.max(0, positionMs)
    await this.command({ kind: 'seek', positionMs: targetMs }, ['seek', targetMs / 1000, 'absolute+exact'])
  }

  async setRate (rate: number): Promise<void> {
    if (!Number.isFinite(rate) || rate <= 0) throw WatchmeshError.badUsage(`setRate: bad rate ${rate}`)
    if (rate < RATE_MIN || rate > RATE_MAX) throw new WatchmeshError('PLAYER_COMMAND_FAILED', `mpv accepts speeds ${RATE_MIN}..${RATE_MAX}, not ${rate}`)
    this.ensureLive()
    if (await this.viewerSetRate()) return
    await this.command({ kind: 'rate', rate }, ['set_property', 'speed', rate])
  }

  /** Loads `url` in place of the current file (keeping the pause state); not reported as a user event. */
  async open (url: string): Promise<void> {
    const target = url.startsWith('file://') ? fileURLToPath(url) : url
    await this.command({ kind: 'media', url }, ['loadfile', target, 'replace'])
  }

  /** Puts `text` on the video for `durationMs` (mpv's OSD). The caller sanitizes peer-supplied text. */
  async showText (text: string, durationMs = OSD_DEFAULT_MS): Promise<void> {
    this.ensureLive()
    await (this.socket as MpvSocket).command(['show-text', text, Math.round(durationMs)])
  }

  async close (): Promise<void> {
    if (this.state_ === 'closed') return
    this.state_ = 'closed'
    this.teardown()
    await this.emitChain
  }

  // --- commands ---------------------------------------------------------------------------

  private async command (exp: Expectation, args: unknown[]): Promise<void> {
    this.ensureLive()
    const socket = this.socket as MpvSocket
    // No answer in time: mpv may still carry it out (a frozen mpv works through its queue when it
    // wakes), and that must not read as its user's action. Any other failure: it was not done.
    await this.tracked(exp, async lateAnswer => { await socket.command(args, undefined, lateAnswer) }, err => isWatchmeshError(err, 'PLAYER_NOT_ANSWERING'))
      .catch((err: unknown) => {
        if (isWatchmeshError(err, 'PLAYER_GONE')) this.markGone()
        throw err
      })
  }

  private ensureLive (): void {
    if (this.state_ !== 'live' || this.socket === null) throw WatchmeshError.playerGone(this.busName)
  }

  // --- observing --------------------------------------------------------------------------

  protected async read (): Promise<PlayerState> {
    return await this.readWith(false)
  }

  /** pause, speed and time-pos (and on the first read, the file) in one pipelined round trip. */
  private async readWith (first: boolean): Promise<PlayerState> {
    const socket = this.socket as MpvSocket
    const get = async (name: string): Promise<{ data: unknown, arrival: number }> => await socket.command(['get_property', name]).catch((err: unknown) => {
      // An unavailable property (time-pos with no file open) is an error reply: no value. No reply
      // at all (PLAYER_NOT_ANSWERING) fails the read: taken as "no value", a frozen mpv would read
      // as one playing on where it was last seen.
      if (err instanceof WatchmeshError && err.code === 'PLAYER_COMMAND_FAILED' && socket.isOpen) return { data: null, arrival: socket.latest }
      throw err
    })
    const sentMs = this.now()
    const fileReads = first ? ['path', 'duration', 'media-title'].map(get) : []
    const [pause, speed, timePos, ...file] = await Promise.all([get('pause'), get('speed'), get('time-pos'), ...fileReads])
      .catch((err: unknown) => {
        if (err instanceof WatchmeshError && err.code === 'PLAYER_GONE') this.markGone()
        throw err
      })
    const receivedMs = this.now()
    this.lastReadMs = receivedMs
    if (pause === undefined || speed === undefined || timePos === undefined) throw new Error('unreachable')
    if (pause.arrival < this.lastEventArrival) return this.observer.stateAt(receivedMs) // older than a change already applied
    const obs: Observation = { atMs: (sentMs + receivedMs) / 2, sentMs, rttMs: receivedMs - sentMs }
    if (typeof pause.data === 'boolean') obs.playing = !pause.data
    const rate = asNumber(speed.data)
    if (rate !== null && rate > 0) obs.rate = rate
    const seconds = asNumber(timePos.data)
    if (seconds !== null) obs.positionMs = seconds * 1000
    if (first) {
      this.noteFile('path', file[0]?.data)
      this.noteFile('duration', file[1]?.data)
      this.noteFile('media-title', file[2]?.data)
      obs.media = this.media()
    }
    return this.observe(obs, true)
  }

  private onEvent (ev: MpvEvent, arrival: number): void {
    if (this.state_ !== 'live' || !this.observer.started) return
    const atMs = this.now()
    if (ev.event === 'seek') {
      this.seekArrival = arrival
      return
    }
    if (ev.event === 'playback-restart') {
      this.lastEventArrival = arrival
      this.sendsSeeked = true
      this.onSeeked()
      return
    }
    if (ev.event !== 'property-change' || ev.name === undefined) return
    this.lastEventArrival = arrival
    const obs: Observation = { atMs }
    switch (ev.name) {
      case 'pause':
        if (typeof ev.data !== 'boolean') return
        obs.playing = !ev.data
        // Playing again: back to the quick cadence now, not when the quiet poll was due.
        if (obs.playing) this.reschedulePoll()
        break
      case 'speed': {
        const rate = asNumber(ev.data)
        if (rate === null || rate <= 0) return
        obs.rate = rate
        break
      }
      case 'time-pos': {
        const seconds = asNumber(ev.data)
        if (seconds === null) return
        obs.positionMs = seconds * 1000
        this.lastTimePos = { positionMs: obs.positionMs, atMs, arrival }
        break
      }
      case 'path': case 'duration': case 'media-title': {
        this.noteFile(ev.name, ev.data)
        // While a file opens its path is unavailable: the media is the one being left until the
        // next is named (a step through "nothing" would read as two changes of file).
        if (this.file.path === null) return
        obs.media = this.media()
        break
      }
      default:
        return
    }
    this.observe(obs, obs.positionMs !== undefined)
  }

  /**
   * mpv restarted playback after a seek. mpv pushes the landing position (time-pos) between a seek
   * and its playback-restart: that push, stamped when it arrived, is exact, like MPRIS's Seeked (a
   * read now would be a round trip late).
   */
  private onSeeked (): void {
    const pushed = this.lastTimePos
    // No push since the seek: it landed where the player was. Still a landing: one of our seeks
    // pending there is thereby done, and must not explain the next one.
    const landed: Landing = pushed === null || pushed.arrival < this.seekArrival
      ? { positionMs: this.observer.stateAt(this.now()).positionMs, atMs: this.now() }
      : { positionMs: pushed.positionMs, atMs: pushed.atMs }
    // Read for the event's state, as after any pushed change (a pause may be in flight too).
    if (this.observer.seeked(landed.positionMs, landed.atMs)) this.report(['seek'], null, landed)
    else this.emit('landed')
  }

  /** One observation through the shared observer; user actions are reported in order. */
  private observe (obs: Observation, hasPosition: boolean): PlayerState {
    // mpv sends playback-restart after every seek, its user's too, so once it has been seen a large
    // jump in a position alone waits for it (position.ts). Unlike over MPRIS, a file change names
    // the new path before any position of it (measured on mpv 0.35: path at start-file, time-pos
    // unavailable until the file is loaded), so no position 0 is ever read against the old file.
    const { state, kinds, wantsRead, endOfMedia } = this.observer.observe(obs, this.sendsSeeked === true)
    if (endOfMedia) this.log('debug', `mpv reached the end of ${state.media?.name ?? 'the file'}`)
    if (wantsRead) this.readSoon()
    // A pushed change without a position gets a fresh read, so a pause carries where it happened.
    if (kinds.length > 0) this.report(kinds, hasPosition ? state : null)
    return state
  }

  private noteFile (name: 'path' | 'duration' | 'media-title', value: unknown): void {
    if (name === 'path') {
      const path = asString(value)
      if (path !== this.file.path && path !== null) {
        this.file.title = null
        this.file.durationMs = null
      }
      this.file.path = path
    } else if (name === 'duration') {
      const seconds = asNumber(value)
      this.file.durationMs = seconds !== null && seconds > 0 ? Math.round(seconds * 1000) : null
    } else {
      this.file.title = asString(value)
    }
  }

  private media (): MediaInfo | null {
    const path = this.file.path
    if (path === null) return null
    return mediaInfo(this.urlOf(path), this.file.title, this.file.durationMs)
  }

  /** mpv says `path` as it was given: a URL, or a file path relative to mpv's working directory. */
  private urlOf (path: string): string {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path
    const absolute = isAbsolute(path) || this.workingDir === '' ? path : resolvePath(this.workingDir, path)
    return pathToFileURL(absolute).href
  }

  /**
   * Queues user events, in order; `state` null means "read the player first". A seek carries where
   * it landed (`landed`): the read only adds whether it plays, since a command of ours still in
   * flight may already have moved the player on from the user's target.
   */
  /** How often mpv is read when nobody else reads it: seldom while it is paused (IPC_QUIET_POLL_INTERVAL_MS). */
  pollPeriodMs (): number {
    return this.observer.stateAt(this.now()).playing ? this.pollIntervalMs : Math.max(this.pollIntervalMs, IPC_QUIET_POLL_INTERVAL_MS)
  }

  private reschedulePoll (): void {
    if (this.pollTimer === null) return
    clearTimeout(this.pollTimer)
    this.pollTimer = null
    this.schedulePoll()
  }

  private schedulePoll (): void {
    if (this.state_ !== 'live') return
    const dueInMs = Math.max(0, this.lastReadMs + this.pollPeriodMs() - this.now())
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null
      if (this.state_ !== 'live') return
      if (this.now() - this.lastReadMs < this.pollPeriodMs()) {
        this.schedulePoll()
        return
      }
      this.read().catch((err: unknown) => {
        if (!(err instanceof WatchmeshError && err.code === 'PLAYER_GONE')) this.log('debug', `reading mpv failed: ${describeError(err)}`)
      }).finally(() => this.schedulePoll())
    }, dueInMs)
  }

  protected teardown (): void {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer)
    this.pollTimer = null
    this.socket?.close()
  }
}

/**
 * Resolves once mpv has a file open and a position (or FIRST_FILE_WAIT_MS passed); PLAYER_GONE when
 * it goes meanwhile, PLAYER_NOT_ANSWERING when it does not answer (the watcher tries again).
 */
async function waitForFile (socket: MpvSocket): Promise<void> {
  const until = Date.now() + FIRST_FILE_WAIT_MS
  for (;;) {
    const seconds = await socket.command(['get_property', 'time-pos']).then(r => asNumber(r.data), (err: unknown) => {
      if (err instanceof WatchmeshError && (err.code === 'PLAYER_GONE' || err.code === 'PLAYER_NOT_ANSWERING')) throw err
      return null // unavailable: no file yet
    })
    if (seconds !== null || Date.now() >= until) return
    await sleep(FIRST_FILE_POLL_MS)
  }
}
