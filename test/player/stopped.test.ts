/**
 * PlaybackStatus Stopped (VLC at the end of a file, a viewer pressing Stop): the player then
 * reports position 0, which must not send the room back to the start.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { MprisPlayer } from '../../src/player/mpris.js'
import { QUIRKS } from '../fixtures/fake-mpris.js'
import type { FakePlayer } from '../fixtures/fake-mpris.js'
import { waitFor } from '../fixtures/wait.js'
import { fakeMprisPlayer, recordUserEvents } from './helpers.js'

const LENGTH_MS = 600_000

describe('a stopped player', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  })

  async function playingAt (positionMs: number): Promise<{ fake: FakePlayer, player: MprisPlayer }> {
    return await fakeMprisPlayer({ quirks: QUIRKS.vlc, media: { lengthMs: LENGTH_MS }, playing: true, positionMs }, cleanups)
  }

  it('at the end of the file: nothing to tell the room', async () => {
    const { fake, player } = await playingAt(LENGTH_MS - 1500)
    const log = recordUserEvents(player)
    await waitFor('a few reads while playing', async () => (await player.state()).positionMs > LENGTH_MS - 1400)
    fake.user.stop()
    await waitFor('the player seen stopped', async () => !(await player.state()).playing)
    // A later unrelated action is the first thing reported: the stop produced nothing before it.
    fake.user.play()
    const [first] = await log.waitForCount(1)
    assert.equal(first?.kind, 'play', log.kinds().join(','))
  })

  it('in the middle: a pause where it was, not at 0:00', async () => {
    const { fake, player } = await playingAt(200_000)
    const log = recordUserEvents(player)
    await waitFor('a few reads while playing', async () => (await player.state()).positionMs > 200_100)
    const before = fake.positionMs()
    fake.user.stop()
    const [ev] = await log.waitForCount(1)
    assert.equal(ev?.kind, 'pause')
    assert.equal(ev?.state.playing, false)
    // VLC-like reads are up to 0.5 s stale; what matters is that it is not the reported 0.
    assert.ok(Math.abs((ev?.state.positionMs ?? 0) - before) < 1000, `paused at ${ev?.state.positionMs} ms, was at ${before} ms`)
  })
})
