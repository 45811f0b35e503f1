/**
 * A built-in, in-process media player for `watchmesh demo` on machines without mpv: it keeps a
 * playback clock like a real player (position advances with the monotonic clock times the rate),
 * accepts the daemon's commands, and lets the demo script act as its user.
 *
 * It behaves like the common case, mpv at 25 fps, as measured here: Position is the shown frame
 * (40 ms steps); a pause rests on the frame shown; a seek while paused lands on the first frame at
 * or after the target; `play` shows the next frame at once (playback resumes one frame ahead).
 */
import { EventEmitter } from 'node:events'
import { processNow } from '../clock.js'
import { WatchmeshError } from '../errors.js'
import type { MediaInfo, Player, PlayerCapabilities, PlayerEvents, PlayerListing, PlayerState, PlayerWatcher, PlayerWatcherEvents, UserEvent } from '../player/player.js'

/** The daemon's commands and the user's presses take effect after this long, like a local player. */
const COMMAND_LATENCY_MS = 2
/** 25 fps. */
const FRAME_MS = 40

export class SimulatedPlayer extends EventEmitter<PlayerEvents> implements Player {
  readonly busName: string
  readonly identity = 'watchmesh simulated player'
  private readonly media: MediaInfo
  private playing = false
  private anchorPositionMs = 0
  private anchorAtMs = processNow()
  private rate = 1
  private closed = false

  constructor (opts: { name: string, media: MediaInfo }) {
    super()
    this.busName = `org.mpris.MediaPlayer2.watchmesh.${opts.name}`
    this.media = opts.media
  }

  capabilities (): PlayerCapabilities {
    return { canSeek: true, canPause: true, canPlay: true, canControl: true, rateMin: 0.5, rateMax: 2, sendsSeeked: true }
  }

  /** The true position right now (what the demo measures skew with). */
  positionMs (atMs = processNow()): number {
    const advanced = this.playing ? (atMs - this.anchorAtMs) * this.rate : 0
    return Math.min(this.anchorPositionMs + advanced, this.media.lengthMs ?? Infinity)
  }

  isPlaying (): boolean {
    return this.playing
  }

  async state (): Promise<PlayerState> {
    if (this.closed) throw WatchmeshError.playerGone(this.busName)
    const atMs = processNow()
    return { playing: this.playing, positionMs: frameFloor(this.positionMs(atMs)), atMs, rate: this.rate, media: this.media }
  }

  async play (): Promise<void> { await this.apply(() => this.setPlaying(true)) }
  async pause (): Promise<void> { await this.apply(() => this.setPlaying(false)) }
  async seek (positionMs: number): Promise<void> { await this.apply(() => this.seekTo(positionMs)) }
  async setRate (rate: number): Promise<void> {
    await this.apply(() => {
      this.reanchor(this.positionMs())
      this.rate = rate
    })
  }

  /** The demo's "user" presses a key: the change happens and is reported as a user event. */
  async userAction (kind: 'play' | 'pause' | 'seek', positionMs?: number): Promise<void> {
    await this.apply(() => {
      if (kind === 'seek') this.seekTo(positionMs ?? 0)
      else this.setPlaying(kind === 'play')
    })
    const event: UserEvent = { kind, state: await this.state() }
    this.emit('user', event)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.emit('gone')
  }

  private async apply (change: () => void): Promise<void> {
    if (this.closed) throw WatchmeshError.playerGone(this.busName)
    await new Promise(resolve => setTimeout(resolve, COMMAND_LATENCY_MS))
    change()
  }

  private setPlaying (playing: boolean): void {
    if (playing === this.playing) return
    const shownMs = frameFloor(this.positionMs())
    // Paused, it rests on the frame shown; playing again, it shows the next one at once.
    this.reanchor(playing ? shownMs + FRAME_MS : shownMs)
    this.playing = playing
  }

  private seekTo (positionMs: number): void {
    const targetMs = Math.max(0, positionMs)
    this.reanchor(this.playing ? targetMs : Math.ceil(targetMs / FRAME_MS) * FRAME_MS)
  }

  private reanchor (positionMs: number): void {
    this.anchorPositionMs = positionMs
    this.anchorAtMs = processNow()
  }
}

function frameFloor (positionMs: number): number {
  return Math.floor(positionMs / FRAME_MS) * FRAME_MS
}

/** A watcher that always has the one player it was given (the demo's simulated players). */
export class StaticWatcher extends EventEmitter<PlayerWatcherEvents> implements PlayerWatcher {
  readonly current: Player
  readonly notFollowing = null

  constructor (player: Player) {
    super()
    this.current = player
  }

  async start (): Promise<void> {
    queueMicrotask(() => this.emit('attach', this.current))
  }

  async list (): Promise<PlayerListing[]> {
    const state = await this.current.state()
    return [{ busName: this.current.busName, identity: this.current.identity, playbackStatus: state.playing ? 'Playing' : 'Paused', media: state.media }]
  }

  async close (): Promise<void> {}
}
