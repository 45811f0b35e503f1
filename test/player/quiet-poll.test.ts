/**
 * A paused player that signals its own changes is read seldom (idle CPU), and a user's play is
 * still reported (by its PropertiesChanged) and brings back the quick cadence at once. A player
 * without Seeked keeps the quick cadence while paused: a user seek there is seen only by reading.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { POLL_INTERVAL_MS, QUIET_POLL_INTERVAL_MS } from '../../src/player/mpris.js'
import type { MprisPlayer } from '../../src/player/mpris.js'
import { QUIRKS } from '../fixtures/fake-mpris.js'
import type { FakePlayer, FakeQuirks } from '../fixtures/fake-mpris.js'
import { waitFor } from '../fixtures/wait.js'
import { fakeMprisPlayer, recordUserEvents } from './helpers.js'

describe('polling a paused player', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  })

  async function paused (quirks: FakeQuirks): Promise<{ fake: FakePlayer, player: MprisPlayer }> {
    return await fakeMprisPlayer({ quirks, media: { lengthMs: 600_000 }, playing: false, positionMs: 10_000 }, cleanups)
  }

  /** The user plays, seeks to 20 s and pauses: the player has shown it signals a play and a seek. */
  async function playSeekPause (fake: FakePlayer, log: ReturnType<typeof recordUserEvents>): Promise<void> {
    fake.user.play()
    await log.waitForCount(1)
    fake.user.seek(20_000)
    await log.waitForCount(2)
    fake.user.pause()
    await log.waitForCount(3)
  }

  it('an mpv-like player: quiet once it has signalled a play and a seek, quick again on a play', async () => {
    const { fake, player } = await paused(QUIRKS.mpv)
    const log = recordUserEvents(player)
    // Nothing learnt yet about what it signals: read on the quick cadence.
    assert.equal(player.pollPeriodMs(), POLL_INTERVAL_MS)
    await playSeekPause(fake, log)
    assert.deepEqual(log.kinds(), ['play', 'seek', 'pause'])
    assert.equal(player.pollPeriodMs(), QUIET_POLL_INTERVAL_MS)

    fake.user.play()
    const events = await log.waitForCount(4)
    assert.equal(events[3]?.kind, 'play')
    assert.equal(events[3]?.state.playing, true)
    assert.equal(player.pollPeriodMs(), POLL_INTERVAL_MS)
    // A seek while quiet is told by its Seeked.
    fake.user.pause()
    await log.waitForCount(5)
    fake.user.seek(50_000)
    const seeks = await log.waitForCount(6)
    assert.equal(seeks[5]?.kind, 'seek')
    assert.ok(Math.abs((seeks[5]?.state.positionMs ?? 0) - 50_000) <= 40, `seek reported at ${String(seeks[5]?.state.positionMs)} ms`)
  })

  it('mpv, known by its bus name to signal plays and seeks, is quiet while paused from the start; a play still shows', async () => {
    const { fake, player } = await fakeMprisPlayer({ name: 'mpv', quirks: QUIRKS.mpv, media: { lengthMs: 600_000 }, playing: false, positionMs: 10_000 }, cleanups)
    const log = recordUserEvents(player)
    assert.equal(player.pollPeriodMs(), QUIET_POLL_INTERVAL_MS)
    fake.user.play()
    const events = await log.waitForCount(1)
    assert.equal(events[0]?.kind, 'play')
    assert.equal(player.pollPeriodMs(), POLL_INTERVAL_MS)
  })

  it('a player without Seeked (VLC-like) stays on the quick cadence while paused', async () => {
    const { fake, player } = await paused(QUIRKS.vlc)
    const log = recordUserEvents(player)
    fake.user.play()
    await log.waitForCount(1)
    fake.user.pause()
    await log.waitForCount(2)
    await waitFor('the player known not to send Seeked', () => player.capabilities().sendsSeeked !== true)
    assert.equal(player.pollPeriodMs(), POLL_INTERVAL_MS)
    // Its user's seek while paused is seen by a read.
    fake.user.seek(30_000)
    const events = await log.waitForCount(3)
    assert.equal(events[2]?.kind, 'seek')
  })
})
