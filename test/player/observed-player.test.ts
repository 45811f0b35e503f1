/**
 * The part every real backend shares (observed-player.ts), driven by a scripted player: what the
 * player shows is set by the test, and so is when its pushed changes arrive.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ObservedPlayer } from '../../src/player/observed-player.js'
import type { PlayerState, UserEvent } from '../../src/player/player.js'

/** A player whose screen is `shown`; `push` delivers a change the way mpv's IPC does, at once. */
class ScriptedPlayer extends ObservedPlayer {
  shown = { playing: true, rate: 1, positionMs: 10_000 }
  /** Rates our commands set on the player. */
  readonly ratesSent: number[] = []
  private clockMs = 0

  constructor () {
    super(() => this.clockMs)
    this.observer.observe(this.observation())
    this.state_ = 'live'
  }

  get busName (): string {
    return 'scripted'
  }

  push (rate: number): void {
    this.shown.rate = rate
    this.clockMs += 5
    const { kinds, state } = this.observer.observe({ atMs: this.clockMs, rate })
    if (kinds.length > 0) this.report(kinds, state)
  }

  async setRate (rate: number): Promise<void> {
    if (await this.viewerSetRate()) return
    await this.tracked({ kind: 'rate', rate }, async () => {
      this.ratesSent.push(rate)
      this.shown.rate = rate
    }, () => false)
  }

  protected async read (): Promise<PlayerState> {
    await Promise.resolve()
    this.clockMs += 1
    const { kinds, state } = this.observer.observe(this.observation())
    if (kinds.length > 0) this.report(kinds, state)
    return state
  }

  protected teardown (): void {}

  private observation (): { atMs: number, playing: boolean, rate: number, positionMs: number, sentMs: number } {
    return { atMs: this.clockMs, sentMs: this.clockMs, ...this.shown }
  }
}

function told (player: ScriptedPlayer): UserEvent[] {
  const events: UserEvent[] = []
  player.on('user', ev => events.push(ev))
  return events
}

describe('ObservedPlayer: our rate against the viewer\'s', () => {
  it('drops our rate when the viewer\'s change was pushed but not yet told to the caller', async () => {
    const player = new ScriptedPlayer()
    const events = told(player)
    player.push(1.25)
    // The engine decided on the old rate: the viewer's change has not reached it yet.
    assert.equal(events.length, 0)
    await player.setRate(1.02)
    assert.deepEqual(player.ratesSent, [], 'our rate is not sent over the viewer\'s')
    assert.equal(player.shown.rate, 1.25)
    await player.setRate(1.02) // now told: a rate decided after it is the caller's to set
    assert.deepEqual(events.map(e => [e.kind, e.state.rate]), [['rate', 1.25]])
    assert.deepEqual(player.ratesSent, [1.02])
  })

  it('drops our rate when the read before it finds the viewer\'s change', async () => {
    const player = new ScriptedPlayer()
    const events = told(player)
    player.shown.rate = 1.5 // set, not yet pushed
    await player.setRate(1.02)
    assert.deepEqual(player.ratesSent, [])
    await player.setRate(1.02)
    assert.deepEqual(events.map(e => [e.kind, e.state.rate]), [['rate', 1.5]])
    assert.deepEqual(player.ratesSent, [1.02])
  })

  it('sends our rate when every change of the viewer\'s was told', async () => {
    const player = new ScriptedPlayer()
    const events = told(player)
    player.push(1.25)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(events.length, 1)
    await player.setRate(1.3)
    assert.deepEqual(player.ratesSent, [1.3])
  })
})
