/**
 * What every backend that watches a real player shares (MPRIS over D-Bus, mpv's JSON IPC): one
 * observer (observer.ts) that every observation goes through, commands recorded in its ledger
 * before they are sent, user events told in order, and the player's lifecycle (new, live, gone,
 * closed). A backend adds only its protocol: how it reads the player, how it sends a command, what
 * it subscribes to.
 */
import { EventEmitter } from 'node:events'
import { processNow } from '../clock.js'
import type { Expectation } from './ledger.js'
import { fromLanding, PlayerObserver } from './observer.js'
import type { Landing } from './observer.js'
import type { PlayerEvents, PlayerState, UserEvent } from './player.js'
import { describeError } from './values.js'

export abstract class ObservedPlayer extends EventEmitter<PlayerEvents> {
  protected readonly observer = new PlayerObserver()
  protected readonly now: () => number
  protected state_: 'new' | 'live' | 'gone' | 'closed' = 'new'
  /** User events are emitted in this chain, in the order they were seen. */
  protected emitChain: Promise<void> = Promise.resolve()
  /** The user's rate changes that have reached the 'user' event (or were dropped with the player gone). */
  private userRatesTold = 0

  constructor (now: (() => number) | undefined) {
    super()
    this.now = now ?? processNow
  }

  /** Where this player is reached, for log lines and errors. */
  abstract get busName (): string

  /** Reads the player once; the observation goes through the observer, and a user action is reported. */
  protected abstract read (): Promise<PlayerState>

  /** Stops timers and subscriptions (the connection to the player is no longer used). */
  protected abstract teardown (): void

  /**
   * Sends one command, recorded first in the ledger so that its effect is not taken for the user's.
   * A command that failed is withdrawn; one with no answer in time (`unanswered(err)`) may still be
   * carried out (a frozen player works through its queue when it wakes) and is held for its late
   * answer, which `send` passes to the callback it is given.
   */
  protected async tracked (exp: Expectation, send: (lateAnswer: (answered: boolean) => void) => Promise<void>, unanswered: (err: unknown) => boolean): Promise<void> {
    const token = this.observer.expect(exp, this.now())
    const lateAnswer = (answered: boolean): void => {
      this.log('debug', `${this.busName} ${answered ? 'answered a command late: its effect is ours' : 'never answered a command'}`)
      this.observer.lateAnswer(token, answered, this.now())
    }
    try {
      await send(lateAnswer)
    } catch (err) {
      if (unanswered(err)) this.observer.hold(token, this.now())
      else this.observer.withdraw(token)
      throw err
    }
  }

  /**
   * Reads the player before a rate command: true if the read shows a rate change of the viewer's
   * (reported as their event), which a rate of ours must not overwrite (observer.rateChangesByUser).
   * A read that fails decides nothing: the command itself says whether the player answers.
   */
  protected async viewerSetRate (): Promise<boolean> {
    // Counted from what was told, not what was seen: a change seen just before this call (mpv
    // pushes it at once) but not yet told is one the caller could not have weighed either.
    const told = this.userRatesTold
    await this.read().catch(() => {})
    if (this.observer.rateChangesByUser === told) return false
    this.log('debug', `${this.busName}: its viewer changed the speed; our rate command is dropped`)
    return true
  }

  /**
   * Queues user events, in order; `state` null means "read the player first". A seek carries where
   * it landed (`landed`): the read only adds whether it plays, since a command of ours still in
   * flight may already have moved the player on from the user's target.
   */
  protected report (kinds: Array<UserEvent['kind']>, state: PlayerState | null, landed?: Landing): void {
    const statePromise = state === null ? this.read().catch((err: unknown) => this.knownFor(kinds, err)) : Promise.resolve(state)
    this.emitChain = this.emitChain.then(async () => {
      const s = await statePromise
      this.userRatesTold += kinds.filter(kind => kind === 'rate').length
      if (s === null || this.state_ !== 'live') return
      if (landed !== undefined) s.positionMs = fromLanding(landed, s)
      for (const kind of kinds) this.emit('user', { kind, state: { ...s } })
    }).catch((err: unknown) => {
      // A listener threw: that is the listener's bug, but it must not stop later events.
      this.log('warn', `a 'user' listener failed: ${describeError(err)}`)
    })
  }

  /**
   * A read for a user event failed: the event is still told, with what the observer knows (the
   * signal's change applied, the position projected), rather than lost; the engine would otherwise
   * see the player off the room's state and undo the user's action. None once the player is gone.
   */
  private knownFor (kinds: Array<UserEvent['kind']>, err: unknown): PlayerState | null {
    if (this.state_ !== 'live') return null
    this.log('debug', `reading ${this.busName} for its user's ${kinds.join(', ')} failed (${describeError(err)}); told with what is known`)
    return this.observer.stateAt(this.now())
  }

  protected readSoon (): void {
    this.read().catch(() => {})
  }

  /** Bad data from a player is logged and dropped, never thrown into the library that delivered it. */
  protected guard (fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.log('warn', `ignoring a message from ${this.busName}: ${describeError(err)}`)
    }
  }

  protected markGone (): void {
    if (this.state_ !== 'live') return
    this.state_ = 'gone'
    this.teardown()
    this.emit('gone')
  }

  protected log (level: 'info' | 'warn' | 'debug', msg: string): void {
    this.emit('log', { level, msg })
  }
}
