/**
 * The `Player` contract suite: one set of tests every implementation passes, run against the fake
 * MPRIS player in each of its quirk modes and against real mpv (contract.test.ts).
 *
 * Waiting is by deadlines only. "No extra event" is checked with a barrier: player messages arrive
 * in order, so an event that should not exist would arrive before the next expected one.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { processNow } from '../../src/clock.js'
import { isWatchmeshError } from '../../src/errors.js'
import type { Player, UserEvent } from '../../src/player/player.js'
import { waitFor } from '../fixtures/wait.js'
import { recordUserEvents } from './helpers.js'

export interface Subject {
  player: Player
  /** What the player itself says (mpv: JSON IPC; fake: its internals), bypassing MPRIS. */
  truth: { positionMs: () => Promise<number>, playing: () => Promise<boolean>, rate: () => Promise<number> }
  /** The person at the keyboard (mpv: its own input; fake: `user.*`). */
  user: {
    play: () => Promise<void>
    pause: () => Promise<void>
    seek: (positionMs: number) => Promise<void>
    setRate: (rate: number) => Promise<void>
    /** Opens another file; resolves with the name the player should then report. */
    load: () => Promise<string>
  }
  expect: {
    sendsSeeked: boolean
    rate: boolean
    /** How far a position read may be from the truth (step, staleness, landing). */
    positionErrorMs: number
  }
  /** Makes the player go away as a crash would. */
  kill: () => Promise<void>
  close: () => Promise<void>
}

/** Deadline for effects that must eventually be seen (no-Seeked players are polled at 4 Hz). */
const EVENTUALLY_MS = 5_000
/** The echo-suppression rounds: enough to catch a leak, few enough to stay quick. */
const ROUNDS = 6

export function playerContract (name: string, setup: () => Promise<Subject>): void {
  describe(`Player contract: ${name}`, () => {
    let s: Subject | undefined
    const subject = (): Subject => { assert.ok(s !== undefined, 'setup failed'); return s }

    before(async () => { s = await setup() })
    after(async () => { await s?.close() })

    it('reads what the player shows', async () => {
      const { player, truth, user, expect } = subject()
      await user.pause()
      await user.seek(5_000)
      await waitFor('the read to settle on 5 s', async () => {
        const st = await player.state()
        return !st.playing && Math.abs(st.positionMs - await truth.positionMs()) <= expect.positionErrorMs
      }, { timeoutMs: EVENTUALLY_MS })
      const st = await player.state()
      assert.equal(st.playing, await truth.playing())
      assert.equal(st.rate, await truth.rate())
      assert.ok(st.media !== null && st.media.name.length > 0)
    })

    it('carries out commands', async () => {
      const { player, truth, expect } = subject()
      await player.pause()
      await waitFor('paused', async () => !(await truth.playing()), { timeoutMs: EVENTUALLY_MS })
      await player.seek(20_000)
      await waitFor('at 20 s', async () => Math.abs(await truth.positionMs() - 20_000) <= expect.positionErrorMs, { timeoutMs: EVENTUALLY_MS })
      await player.play()
      await waitFor('playing', async () => await truth.playing(), { timeoutMs: EVENTUALLY_MS })
      if (expect.rate) {
        await player.setRate(1.1)
        await waitFor('rate 1.1', async () => await truth.rate() === 1.1, { timeoutMs: EVENTUALLY_MS })
        await player.setRate(1)
        await waitFor('rate 1', async () => await truth.rate() === 1, { timeoutMs: EVENTUALLY_MS })
      } else {
        await assert.rejects(player.setRate(1.1), (err: unknown) => isWatchmeshError(err, 'PLAYER_COMMAND_FAILED'))
      }
      const caps = player.capabilities()
      assert.equal(caps.canSeek, true)
      assert.equal(caps.canPause, true)
      assert.equal(caps.rateMin < 1 && caps.rateMax > 1, expect.rate)
      await player.pause()
      await waitFor('paused again', async () => !(await truth.playing()), { timeoutMs: EVENTUALLY_MS })
    })

    it(`reports none of ${ROUNDS * 3} own commands, then each of ${ROUNDS * 2} user actions exactly once`, async () => {
      const { player, truth, user, expect } = subject()
      await waitFor('paused and seen paused', async () => !(await truth.playing()) && !(await player.state()).playing, { timeoutMs: EVENTUALLY_MS })
      const log = recordUserEvents(player)

      // Ours: seeks, play/pause, rate nudges, each awaited until the player shows it.
      for (let i = 0; i < ROUNDS; i++) {
        const targetMs = 10_000 + i * 7_000
        await player.seek(targetMs)
        await waitFor(`our seek to ${targetMs}`, async () => Math.abs((await player.state()).positionMs - targetMs) <= expect.positionErrorMs + 100, { timeoutMs: EVENTUALLY_MS })
        const playing = i % 2 === 0
        await (playing ? player.play() : player.pause())
        await waitFor(`our ${playing ? 'play' : 'pause'}`, async () => (await player.state()).playing === playing, { timeoutMs: EVENTUALLY_MS })
        if (expect.rate) {
          const rate = i % 2 === 0 ? 1.002 : 1
          await player.setRate(rate)
          await waitFor(`our rate ${rate}`, async () => (await player.state()).rate === rate, { timeoutMs: EVENTUALLY_MS })
        } else {
          await player.pause() // a no-op command half the time: must not swallow anything later
        }
      }
      await player.pause()
      await player.setRate(1).catch(() => {})
      await waitFor('settled paused', async () => { const st = await player.state(); return !st.playing && st.rate === 1 }, { timeoutMs: EVENTUALLY_MS })

      // Theirs: alternate seeks (10 s apart, clear of any granularity) and play/pause.
      const expected: Array<UserEvent['kind']> = []
      /** When each of the user's seeks was asked for, on the players' clock. */
      const seekAsked: Array<{ atMs: number, playing: boolean }> = []
      let playing = false
      for (let i = 0; i < ROUNDS; i++) {
        seekAsked.push({ atMs: processNow(), playing })
        await user.seek(15_000 + i * 10_000)
        expected.push('seek')
        await log.waitForCount(expected.length, EVENTUALLY_MS)
        playing = !playing
        await (playing ? user.play() : user.pause())
        expected.push(playing ? 'play' : 'pause')
        await log.waitForCount(expected.length, EVENTUALLY_MS)
      }
      // The barrier: had anything extra been reported, this would not be the next event.
      await (playing ? user.pause() : user.play())
      expected.push(playing ? 'pause' : 'play')
      playing = !playing
      await log.waitForCount(expected.length, EVENTUALLY_MS)
      assert.deepEqual(log.kinds(), expected)
      // Each seek event carries where the player went: its target, and, while playing, as far past
      // it as the player can have played between the seek and the state the event carries (a read
      // after the Seeked, which took 740 ms on a loaded machine).
      const seeks = log.events.filter(e => e.kind === 'seek')
      seeks.forEach((e, i) => {
        const targetMs = 15_000 + i * 10_000
        const asked = seekAsked[i] ?? { atMs: e.state.atMs, playing: false }
        const playedMs = asked.playing ? Math.max(0, e.state.atMs - asked.atMs) * e.state.rate : 0
        const pastMs = e.state.positionMs - targetMs
        assert.ok(pastMs >= -expect.positionErrorMs - 600 && pastMs <= playedMs + expect.positionErrorMs + 600,
          `seek ${i} to ${targetMs} reported at ${e.state.positionMs}, ${(e.state.atMs - asked.atMs).toFixed(0)} ms after it was asked for${asked.playing ? ' while playing' : ''}`)
      })
      if (playing) {
        await user.pause()
        await log.waitForCount(expected.length + 1, EVENTUALLY_MS) // leave no event for the next test
      }
    })

    it('reports the user\'s seek far back while playing, after our rate commands', async () => {
      const { player, truth, user, expect } = subject()
      // Whatever file is open by now (an earlier case may have opened a short one): from near its
      // end back to near its start.
      const lengthMs = (await player.state()).media?.lengthMs ?? 30_000
      const fromMs = lengthMs - 8_000
      const toMs = 2_000
      await player.seek(fromMs)
      await player.play()
      await waitFor(`playing from ${fromMs} ms`, async () => await truth.playing() && (await player.state()).playing, { timeoutMs: EVENTUALLY_MS })
      if (expect.rate) {
        await player.setRate(1.002)
        await player.setRate(1)
      }
      // A second of reads on the playing line, as in any room (a drift correction just before).
      await waitFor('a second played', async () => await truth.positionMs() >= fromMs + 1_000, { timeoutMs: EVENTUALLY_MS })
      const log = recordUserEvents(player)
      const askedAtMs = processNow()
      // The viewer's seek lands while a drift correction of ours goes out (its read comes first).
      await user.seek(toMs)
      if (expect.rate) await player.setRate(1.002)
      const [event] = await log.waitForCount(1, EVENTUALLY_MS)
      assert.equal(event?.kind, 'seek', `reported: ${log.kinds().join(',')}`)
      const playedMs = Math.max(0, event.state.atMs - askedAtMs)
      const pastMs = event.state.positionMs - toMs
      assert.ok(pastMs >= -expect.positionErrorMs - 600 && pastMs <= playedMs + expect.positionErrorMs + 600, `the seek to ${toMs} ms reported at ${event.state.positionMs}`)
      await player.pause()
      await waitFor('paused by us', async () => !(await truth.playing()), { timeoutMs: EVENTUALLY_MS })
    })

    it('reports a user rate change and a media change', async () => {
      const { player, user, expect } = subject()
      await waitFor('paused', async () => !(await player.state()).playing, { timeoutMs: EVENTUALLY_MS })
      const log = recordUserEvents(player)
      const expected: Array<UserEvent['kind']> = []
      if (expect.rate) {
        await user.setRate(1.5)
        expected.push('rate')
        await log.waitForCount(expected.length, EVENTUALLY_MS)
        await user.setRate(1)
        expected.push('rate')
        await log.waitForCount(expected.length, EVENTUALLY_MS)
      }
      const nameAfter = await user.load()
      expected.push('media')
      const events = await log.waitForCount(expected.length, EVENTUALLY_MS)
      assert.equal(events.at(-1)?.state.media?.name, nameAfter)
      await user.play()
      expected.push('play')
      await log.waitForCount(expected.length, EVENTUALLY_MS)
      assert.deepEqual(log.kinds(), expected)
    })

    it('a speed the user set just before our rate command stands, and is reported', async () => {
      const { player, truth, user, expect } = subject()
      if (!expect.rate) return
      const log = recordUserEvents(player)
      // mpv-mpris sends the user's Rate up to ~100 ms later, with whatever the rate is by then:
      // ours, sent on top, would be the only rate ever reported.
      await user.setRate(1.25)
      await player.setRate(1.02)
      const events = await log.waitForCount(1, EVENTUALLY_MS)
      assert.deepEqual(events.map(e => [e.kind, e.state.rate]), [['rate', 1.25]])
      assert.equal(await truth.rate(), 1.25, 'the user\'s speed is left as they set it')
      await player.setRate(1)
      await waitFor('our rate 1 again', async () => await truth.rate() === 1, { timeoutMs: EVENTUALLY_MS })
    })

    it('knows whether the player sends Seeked', async () => {
      const { player, expect } = subject()
      await player.seek(3_000)
      await waitFor('Seeked learnt', () => player.capabilities().sendsSeeked !== null, { timeoutMs: EVENTUALLY_MS })
      assert.equal(player.capabilities().sendsSeeked, expect.sendsSeeked)
    })

    it('says when the player is gone', async () => {
      const { player, kill } = subject()
      const gone = once(player, 'gone')
      await kill()
      await Promise.race([gone, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('no gone event')), EVENTUALLY_MS).unref())])
      await assert.rejects(player.state(), (err: unknown) => isWatchmeshError(err, 'PLAYER_GONE'))
      await assert.rejects(player.play(), (err: unknown) => isWatchmeshError(err, 'PLAYER_GONE'))
    })
  })
}
