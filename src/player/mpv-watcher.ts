/**
 * Follows the mpv listening on one IPC path (`--mpv-ipc PATH`, or the one `join --open` started):
 * attaches an `MpvIpcPlayer` when an mpv answers there, and when it goes (quit, crash) detaches and
 * tries the path again every RECONNECT_INTERVAL_MS, so a new mpv opened on the same path is followed
 * again and the daemon brings it to the room's position.
 */
import { EventEmitter } from 'node:events'
import type { Player, PlayerListing, PlayerWatcher, PlayerWatcherEvents } from './player.js'
import { MpvIpcPlayer } from './mpv-ipc.js'
import { describeError } from './values.js'
import { WatchmeshError } from '../errors.js'

/** How often a path with no mpv is tried again: one local connect, so a reopened player is caught within a quarter second. */
export const RECONNECT_INTERVAL_MS = 250

export interface MpvIpcWatcherOptions {
  path: string
  /** Passed to each MpvIpcPlayer. */
  pollIntervalMs?: number
}

export class MpvIpcWatcher extends EventEmitter<PlayerWatcherEvents> implements PlayerWatcher {
  readonly path: string
  private readonly opts: MpvIpcWatcherOptions
  private attached: MpvIpcPlayer | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private trying: Promise<void> | null = null
  private lastFailure: string | null = null
  private started = false
  private closed = false

  constructor (opts: MpvIpcWatcherOptions) {
    super()
    this.path = opts.path
    this.opts = opts
  }

  get current (): Player | null {
    return this.attached
  }

  get notFollowing (): string | null {
    if (this.attached !== null) return null
    return `no mpv answers on ${this.path} yet (start mpv with --input-ipc-server=${this.path})`
  }

  async start (): Promise<void> {
    if (this.started) throw new Error('MpvIpcWatcher.start() called twice')
    this.started = true
    await this.tryAttach()
  }

  /** The mpv on the path, when one answers (read without attaching to it). */
  async list (): Promise<PlayerListing[]> {
    if (this.attached !== null) return [await listing(this.attached)]
    const probe = new MpvIpcPlayer({ path: this.path })
    try {
      await probe.start()
      return [await listing(probe)]
    } catch {
      return []
    } finally {
      await probe.close()
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryTimer = null
    await this.trying?.catch(() => {})
    const player = this.attached
    this.attached = null
    await player?.close()
  }

  private async tryAttach (): Promise<void> {
    this.trying = this.attach()
    try {
      await this.trying
    } finally {
      this.trying = null
    }
  }

  private async attach (): Promise<void> {
    if (this.closed || this.attached !== null) return
    const player = new MpvIpcPlayer({ path: this.path, pollIntervalMs: this.opts.pollIntervalMs })
    try {
      await player.start()
    } catch (err) {
      const why = describeError(err)
      // Said once per reason: an absent mpv is retried four times a second. No mpv on the path is
      // the usual wait (debug); an mpv there that does not answer is worth a warning.
      const absent = err instanceof WatchmeshError && err.code === 'PLAYER_GONE'
      if (why !== this.lastFailure) this.emit('log', { level: absent ? 'debug' : 'warn', msg: `mpv at ${this.path}: ${why}${absent ? '' : '; trying again'}` })
      this.lastFailure = why
      this.scheduleRetry()
      return
    }
    if (this.closed) {
      await player.close()
      return
    }
    this.lastFailure = null
    this.attached = player
    player.once('gone', () => {
      if (this.attached !== player) return
      this.attached = null
      this.emit('detach', player)
      this.scheduleRetry()
    })
    this.emit('attach', player)
  }

  private scheduleRetry (): void {
    if (this.closed || this.retryTimer !== null) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      void this.tryAttach()
    }, RECONNECT_INTERVAL_MS)
  }
}

async function listing (player: MpvIpcPlayer): Promise<PlayerListing> {
  const state = await player.state()
  return { busName: player.busName, identity: player.identity, playbackStatus: state.playing ? 'Playing' : 'Paused', media: state.media }
}
