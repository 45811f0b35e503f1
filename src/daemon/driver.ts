/**
 * The engine driver: the one owner of real time around the pure sync engine. It feeds the engine
 * one input at a time stamped with the clock, arms the one wake-up timer the engine asks for, reads
 * the player on a cadence (and soon after anything that changes playback), and runs player commands
 * one after another in the order the engine issued them. Messages and notices go to the caller.
 *
 * Timers and randomness come in as options, so a test drives it in fake time.
 */
import type { SyncEngine } from '../sync/engine.js'
import type { Action, Input, PlayerCommand, PlayerObservation } from '../sync/types.js'

/** How often the player is read while playing: fast enough to see drift within a few frames. */
export const POLL_PLAYING_MS = 100
/**
 * Reads while playing are spread by this much either way: a fixed period near a multiple of the
 * frame time (100 ms = 2.5 frames of 40 ms) keeps hitting the same frame phases, and the player
 * layer finds the frame edges (the true position) from reads that fall on every phase.
 */
export const POLL_JITTER_MS = 20
/** After anything that changes playback, the engine wants a reading soon (a start is judged on it). */
export const POLL_AFTER_CHANGE_MS = 50
/** While paused nothing drifts; a slower poll keeps the idle cost near zero. */
export const POLL_PAUSED_MS = 1000
/**
 * Paused, a player that tells of a play and a seek by itself (mpv, over MPRIS or its IPC) is read
 * only as a backstop for a lost signal: a read of a paused mpv over D-Bus, with its parsing and
 * garbage, was the largest part of a paused daemon's JavaScript time (a fifth, at one a second).
 */
export const POLL_PAUSED_QUIET_MS = 5000
/** A command queue longer than this means the player stopped answering; older commands are moot. */
export const MAX_QUEUED_COMMANDS = 16
/**
 * Node's timers take at most 2^31-1 ms (~24.8 days); a longer delay fires after 1 ms instead,
 * with a warning, every time it is re-armed. A far wake is reached in steps of at most this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** The timers the driver arms (node's by default; a test hands in fake ones). */
export interface Timers {
  setTimeout: (fn: () => void, delayMs: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export interface DriverOptions {
  engine: SyncEngine
  /** The daemon's monotonic clock, ms. */
  now: () => number
  /** Messages and notices the engine asked for (wakes and player commands the driver carries out). */
  perform: (action: Exclude<Action, { type: 'wake' } | { type: 'player' }>) => void
  /**
   * Reads the player now; null when there is none to read (or it is not the one followed any
   * more by the time the reading arrives). A failure is the caller's to log; it counts as null.
   */
  read: () => Promise<PlayerObservation | null>
  /**
   * The work of one command against the player followed now, or null when there is none. The work
   * runs later, in order; it is the caller's to check the player is still the same by then.
   */
  commandWork: (cmd: PlayerCommand) => (() => Promise<void>) | null
  /**
   * Whether the player read tells of a play and a seek by itself: then, while it and the room rest
   * paused in step (the engine's restingInStep), it is read only every POLL_PAUSED_QUIET_MS.
   */
  tellsPlayAndSeek?: () => boolean
  /** Called when a command is dropped because the queue is full. */
  onDropped?: () => void
  /** Every input and the actions it gave, before they are carried out. */
  trace?: (nowMs: number, input: Input, actions: Action[]) => void
  /** After every step, once its actions are carried out. */
  stepped?: () => void
  timers?: Timers
  /** Uniform in [0, 1): spreads the polls. */
  random?: () => number
}

const NODE_TIMERS: Timers = {
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: handle => clearTimeout(handle as NodeJS.Timeout)
}

export class EngineDriver {
  private readonly opts: DriverOptions
  private readonly timers: Timers
  private readonly random: () => number
  private pollTimer: unknown = null
  private pollDueMs = 0
  private wakeTimer: unknown = null
  private commands: Promise<void> = Promise.resolve()
  private queuedCommands = 0
  private lastPlaying = false
  private polling = false
  private closed = false

  constructor (opts: DriverOptions) {
    this.opts = opts
    this.timers = opts.timers ?? NODE_TIMERS
    this.random = opts.random ?? Math.random
  }

  /** Feeds one input to the engine and carries out what it asks for. */
  step (input: Input): void {
    if (this.closed) return
    const nowMs = this.opts.now()
    const actions = this.opts.engine.handle(input, nowMs)
    if (input.type === 'player-status' || input.type === 'player-attached') this.lastPlaying = input.observed.playing
    if (input.type === 'user') this.lastPlaying = input.action.observed.playing
    this.opts.trace?.(nowMs, input, actions)
    for (const action of actions) {
      switch (action.type) {
        case 'player':
          this.command(action.cmd)
          this.schedulePoll(POLL_AFTER_CHANGE_MS)
          break
        case 'wake':
          this.wakeAt(action.atMs)
          break
        default:
          this.opts.perform(action)
      }
    }
    this.opts.stepped?.()
  }

  /** Starts reading a (new) player: now, then on the cadence. */
  startPolling (): void {
    this.polling = true
    this.schedulePoll(0)
  }

  /** The player went away: no reads until `startPolling` again. */
  stopPolling (): void {
    this.polling = false
    this.lastPlaying = false
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer)
    this.pollTimer = null
  }

  /**
   * Makes sure the player is read within `delayMs`: an earlier read already planned stands (a
   * read-back asked for after a command must not be pushed out by the regular cadence).
   */
  schedulePoll (delayMs: number): void {
    if (!this.polling || this.closed) return
    const dueMs = this.opts.now() + delayMs
    if (this.pollTimer !== null) {
      if (this.pollDueMs <= dueMs) return
      this.timers.clearTimeout(this.pollTimer)
    }
    this.pollDueMs = dueMs
    this.pollTimer = this.timers.setTimeout(() => { void this.poll() }, delayMs)
  }

  /** Stops every timer; later inputs are ignored. Queued commands finish. */
  close (): void {
    this.closed = true
    this.stopPolling()
    if (this.wakeTimer !== null) this.timers.clearTimeout(this.wakeTimer)
    this.wakeTimer = null
  }

  /** Resolves once every command queued so far has run. */
  async idle (): Promise<void> {
    await this.commands
  }

  private async poll (): Promise<void> {
    this.pollTimer = null
    if (!this.polling || this.closed) return
    const observed = await this.opts.read()
    if (observed !== null) this.step({ type: 'player-status', observed })
    if (this.polling && !this.closed) this.schedulePoll(this.lastPlaying ? this.jittered(POLL_PLAYING_MS) : this.pausedPollMs())
  }

  private pausedPollMs (): number {
    return this.opts.tellsPlayAndSeek?.() === true && this.opts.engine.restingInStep(this.opts.now()) ? POLL_PAUSED_QUIET_MS : POLL_PAUSED_MS
  }

  private jittered (periodMs: number): number {
    return periodMs - POLL_JITTER_MS + this.random() * 2 * POLL_JITTER_MS
  }

  /**
   * libuv timers count whole milliseconds and may fire up to ~1 ms before the precise monotonic
   * time asked for; the engine does not repeat a wake it already asked for, so an early timer is
   * re-armed for the rest rather than delivered early (a scheduled start would otherwise slip to
   * whatever input comes next).
   */
  private wakeAt (atMs: number): void {
    if (this.wakeTimer !== null) this.timers.clearTimeout(this.wakeTimer)
    this.wakeTimer = this.timers.setTimeout(() => {
      this.wakeTimer = null
      if (this.opts.now() < atMs) this.wakeAt(atMs)
      else this.step({ type: 'tick' })
    }, timerDelayMs(atMs - this.opts.now()))
  }

  /** Player commands run one after another, in the order the engine issued them. */
  private command (cmd: PlayerCommand): void {
    const work = this.opts.commandWork(cmd)
    if (work === null) return
    if (this.queuedCommands >= MAX_QUEUED_COMMANDS) {
      this.opts.onDropped?.()
      return
    }
    this.queuedCommands++
    this.commands = this.commands.then(async () => {
      try {
        await work()
      } finally {
        this.queuedCommands--
      }
    })
  }
}

/** A setTimeout delay for a wake `inMs` from now: whole ms, never negative, never past Node's maximum. */
export function timerDelayMs (inMs: number): number {
  if (!(inMs > 0)) return 0
  return Math.min(MAX_TIMER_MS, Math.ceil(inMs))
}
