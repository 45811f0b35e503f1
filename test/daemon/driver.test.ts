import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EngineDriver, MAX_QUEUED_COMMANDS, POLL_AFTER_CHANGE_MS, POLL_PAUSED_MS, POLL_PAUSED_QUIET_MS, POLL_PLAYING_MS, type Timers } from '../../src/daemon/driver.js'
import { SyncEngine } from '../../src/sync/engine.js'
import type { Action, Input, PlayerCommand, PlayerObservation } from '../../src/sync/types.js'

/** Fake time: timers fire only when `advance` passes them, in order. */
class FakeTime implements Timers {
  nowMs = 0
  /** The next timer to fire fires this much early. */
  earlyOnceMs = 0
  private seq = 0
  private readonly due = new Map<number, { atMs: number, fn: () => void }>()
  setTimeout = (fn: () => void, delayMs: number): unknown => {
    const id = ++this.seq
    this.due.set(id, { atMs: this.nowMs + delayMs, fn })
    return id
  }

  clearTimeout = (handle: unknown): void => { this.due.delete(handle as number) }
  get pending (): number[] { return [...this.due.values()].map(t => t.atMs).sort((a, b) => a - b) }
  async advance (toMs: number): Promise<void> {
    for (;;) {
      const next = [...this.due.entries()].sort((a, b) => a[1].atMs - b[1].atMs)[0]
      if (next === undefined || next[1].atMs > toMs) break
      this.due.delete(next[0])
      this.nowMs = next[1].atMs - this.earlyOnceMs
      this.earlyOnceMs = 0
      next[1].fn()
      await new Promise(resolve => setImmediate(resolve)) // let an async poll finish
    }
    this.nowMs = toMs
  }
}

const media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_200_000 }

function setup (engine = new SyncEngine({ nodeId: 'a' }), tellsPlayAndSeek?: () => boolean): { time: FakeTime, driver: EngineDriver, reads: number[], commands: PlayerCommand[], performed: Action[], inputs: Input[], playing: { value: boolean }, restsAt: { ms: number | null } } {
  const time = new FakeTime()
  const reads: number[] = []
  const commands: PlayerCommand[] = []
  const performed: Action[] = []
  const inputs: Input[] = []
  const playing = { value: false }
  /** Where the player reads while paused; null: wherever the clock is (a player that moves). */
  const restsAt: { ms: number | null } = { ms: null }
  const driver = new EngineDriver({
    engine,
    now: () => time.nowMs,
    timers: time,
    random: () => 0.5,
    perform: a => performed.push(a),
    read: async (): Promise<PlayerObservation> => {
      reads.push(time.nowMs)
      return { playing: playing.value, positionMs: playing.value ? time.nowMs : restsAt.ms ?? time.nowMs, atMs: time.nowMs, rate: 1, media }
    },
    commandWork: cmd => async () => { commands.push(cmd) },
    trace: (_nowMs, input) => inputs.push(input),
    tellsPlayAndSeek
  })
  return { time, driver, reads, commands, performed, inputs, playing, restsAt }
}

test('the player is read at once, then every POLL_PAUSED_MS while paused and every POLL_PLAYING_MS while playing', async () => {
  const { time, driver, reads, playing } = setup()
  driver.startPolling()
  await time.advance(2500)
  assert.deepEqual(reads, [0, POLL_PAUSED_MS, 2 * POLL_PAUSED_MS])
  playing.value = true
  await time.advance(3000)
  // The read at 2000 still saw a paused player; from the read at 3000 on, the playing cadence.
  await time.advance(3000 + 3 * POLL_PLAYING_MS)
  assert.deepEqual(reads.slice(3), [3000, 3000 + POLL_PLAYING_MS, 3000 + 2 * POLL_PLAYING_MS, 3000 + 3 * POLL_PLAYING_MS])
  driver.stopPolling()
  await time.advance(10_000)
  assert.equal(reads.length, 7, 'no reads once the player is gone')
})

test('a paused player that tells of its plays and seeks is read every POLL_PAUSED_QUIET_MS while the room rests paused; at once again on a change', async () => {
  const { time, driver, reads, playing } = setup(undefined, () => true)
  driver.startPolling()
  await time.advance(2 * POLL_PAUSED_QUIET_MS + 500)
  assert.deepEqual(reads, [0, POLL_PAUSED_QUIET_MS, 2 * POLL_PAUSED_QUIET_MS])
  // The viewer presses play: the player says so (a user input), a read follows soon, then the playing cadence.
  playing.value = true
  const t = time.nowMs
  driver.step({ type: 'user', action: { kind: 'play', observed: { playing: true, positionMs: t, atMs: t, rate: 1, media } } })
  driver.schedulePoll(POLL_AFTER_CHANGE_MS)
  await time.advance(t + POLL_AFTER_CHANGE_MS + 2 * POLL_PLAYING_MS)
  assert.deepEqual(reads.slice(3), [t + POLL_AFTER_CHANGE_MS, t + POLL_AFTER_CHANGE_MS + POLL_PLAYING_MS, t + POLL_AFTER_CHANGE_MS + 2 * POLL_PLAYING_MS])
  driver.stopPolling()
})

test('a paused player in a playing room is read every POLL_PAUSED_MS, even one that tells of its plays: reads time the mismatch', async () => {
  const { time, driver, reads } = setup(undefined, () => true)
  // The room plays (this viewer pressed play), but the player reads paused: it ignored the play, or stalled.
  driver.step({ type: 'user', action: { kind: 'play', observed: { playing: true, positionMs: 0, atMs: 0, rate: 1, media } } })
  driver.startPolling()
  await time.advance(3 * POLL_PAUSED_MS + 500)
  assert.deepEqual(reads.slice(0, 4), [0, POLL_PAUSED_MS, 2 * POLL_PAUSED_MS, 3 * POLL_PAUSED_MS])
  driver.stopPolling()
})

/** A player that tells of its plays and seeks, paused by the viewer at 42 s at time 0; its read-back is due. */
async function pausedByViewer (): Promise<ReturnType<typeof setup>> {
  const setupped = setup(undefined, () => true)
  const { time, driver, restsAt } = setupped
  restsAt.ms = 42_000
  driver.startPolling()
  await time.advance(0)
  driver.step({ type: 'user', action: { kind: 'pause', observed: { playing: false, positionMs: 42_000, atMs: 0, rate: 1, media } } })
  driver.schedulePoll(POLL_AFTER_CHANGE_MS)
  return setupped
}

test('after the viewer pauses, a player that tells of its plays is read every POLL_PAUSED_MS while the engine settles, then every POLL_PAUSED_QUIET_MS', async () => {
  const { time, driver, reads } = await pausedByViewer()
  await time.advance(POLL_AFTER_CHANGE_MS + POLL_PAUSED_MS + POLL_PAUSED_QUIET_MS + 10)
  // The read-back falls within the engine's settling after a user action (USER_SETTLE_MS, 1 s): the next read is a second on.
  assert.deepEqual(reads, [0, POLL_AFTER_CHANGE_MS, POLL_AFTER_CHANGE_MS + POLL_PAUSED_MS, POLL_AFTER_CHANGE_MS + POLL_PAUSED_MS + POLL_PAUSED_QUIET_MS])
  driver.stopPolling()
})

test('a paused player found elsewhere than the paused room is read every POLL_PAUSED_MS while the mismatch is timed', async () => {
  const { time, driver, reads, restsAt } = await pausedByViewer()
  await time.advance(POLL_AFTER_CHANGE_MS)
  restsAt.ms = 50_000 // a command of ours that raced the viewer's pause left it on another frame
  await time.advance(POLL_AFTER_CHANGE_MS + 3 * POLL_PAUSED_MS)
  assert.deepEqual(reads.slice(0, 5), [0, POLL_AFTER_CHANGE_MS, POLL_AFTER_CHANGE_MS + POLL_PAUSED_MS, POLL_AFTER_CHANGE_MS + 2 * POLL_PAUSED_MS, POLL_AFTER_CHANGE_MS + 3 * POLL_PAUSED_MS])
  driver.stopPolling()
})

test('an earlier read stands: the regular cadence never pushes out a read-back asked for after a change', async () => {
  const { time, driver, reads } = setup()
  driver.startPolling()
  await time.advance(0)
  driver.schedulePoll(POLL_AFTER_CHANGE_MS)
  driver.schedulePoll(POLL_PAUSED_MS)
  assert.deepEqual(time.pending, [POLL_AFTER_CHANGE_MS])
  await time.advance(POLL_AFTER_CHANGE_MS)
  assert.deepEqual(reads, [0, POLL_AFTER_CHANGE_MS])
})

test('a wake that fires early is re-armed for the rest, not delivered early', async () => {
  const { time, driver, inputs } = setup()
  driver.step({ type: 'peer-up', peer: 'b' }) // the engine wants a tick later (a first timeline may be due)
  const wakeAt = time.pending[0]
  assert.ok(wakeAt !== undefined, 'the engine asked for a wake')
  time.earlyOnceMs = 0.5 // libuv may fire up to ~1 ms before the precise time asked for
  const ticksBefore = (): number => inputs.filter(i => i.type === 'tick').length
  await time.advance(wakeAt)
  assert.equal(ticksBefore(), 0, 'not delivered before its time')
  await time.advance(wakeAt + 1)
  assert.equal(ticksBefore(), 1)
})

test('commands run one after another in order, and a queue beyond MAX_QUEUED_COMMANDS drops the newest', async () => {
  const time = new FakeTime()
  const ran: string[] = []
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  let dropped = 0
  const engine = { handle: (): Action[] => Array.from({ length: MAX_QUEUED_COMMANDS + 2 }, (_, i) => ({ type: 'player', cmd: { op: 'seek', positionMs: i } }) as Action) } as unknown as SyncEngine
  const driver = new EngineDriver({
    engine,
    now: () => time.nowMs,
    timers: time,
    perform: () => {},
    read: async () => null,
    commandWork: cmd => async () => { if (ran.length === 0) await gate; ran.push(String((cmd as { positionMs: number }).positionMs)) },
    onDropped: () => { dropped++ }
  })
  driver.step({ type: 'tick' })
  assert.equal(dropped, 2)
  release()
  await driver.idle()
  assert.deepEqual(ran, Array.from({ length: MAX_QUEUED_COMMANDS }, (_, i) => String(i)))
})
