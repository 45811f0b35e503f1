/**
 * MprisPlayer against real mpv (mpv-mpris) on a private bus: reads, commands, and the line between
 * the daemon's own commands (never reported) and the user's actions (each reported exactly once).
 *
 * "No extra event" is checked without sleeping: player messages arrive in order, so an event our
 * commands wrongly caused would arrive before the event of a later user action (the barrier).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { basename } from 'node:path'
import { connectBus } from '../../src/player/dbus.js'
import type { MessageBus } from '../../src/player/dbus.js'
import { MprisPlayer } from '../../src/player/mpris.js'
import { startBus } from '../fixtures/dbus.js'
import type { TestBus } from '../fixtures/dbus.js'
import { makeMedia } from '../fixtures/media.js'
import { playerctl, startMpv } from '../fixtures/mpv.js'
import type { MpvProcess } from '../fixtures/mpv.js'
import { waitFor } from '../fixtures/wait.js'
import { near, recordUserEvents } from './helpers.js'
import type { EventLog } from './helpers.js'

/** SetPosition while paused lands on a frame: -2..+33 ms at 25 fps (docs/facts.md); one frame of slack. */
const SEEK_LANDING_MS = 45

describe('MprisPlayer with real mpv', () => {
  let bus: TestBus | undefined
  let mpv: MpvProcess | undefined
  let conn: MessageBus | undefined
  let player: MprisPlayer | undefined
  let log: EventLog
  let file: string
  let otherFile: string

  before(async () => {
    file = await makeMedia()
    otherFile = await makeMedia({ seconds: 30 })
    bus = await startBus()
    mpv = await startMpv({ busAddress: bus.address, file, paused: true })
    conn = await connectBus(bus.address, () => {})
    player = new MprisPlayer({ bus: conn, busName: mpv.busName })
    await player.start()
    log = recordUserEvents(player)
  })

  after(async () => {
    await player?.close()
    conn?.disconnect()
    await mpv?.close()
    await bus?.close()
  })

  it('reads state, identity and capabilities', async () => {
    const p = player as MprisPlayer
    assert.equal(p.identity, 'mpv')
    const s = await p.state()
    assert.equal(s.playing, false)
    assert.equal(s.rate, 1)
    assert.ok(s.positionMs >= 0 && s.positionMs < 1000, `position ${s.positionMs}`)
    assert.equal(s.media?.name, basename(file))
    assert.equal(s.media?.url, `file://${file}`)
    const caps = p.capabilities()
    assert.equal(caps.canSeek, true)
    assert.equal(caps.canPause, true)
    assert.equal(caps.canControl, true)
    assert.ok(caps.rateMin < 1 && caps.rateMax > 1, `rate range ${caps.rateMin}..${caps.rateMax}`)
    // mpv moves along its media by a short rate change (a move): the engine may nudge it.
    assert.equal(caps.nudgeable, true)
  })

  it('carries out our commands and reports none of them as user actions', async () => {
    const p = player as MprisPlayer
    const m = mpv as MpvProcess
    const before = log.events.length

    await p.seek(30_000)
    await waitFor('mpv at 30 s', async () => near(await m.timePosMs(), 30_000, SEEK_LANDING_MS))
    await p.setRate(1.25)
    await waitFor('mpv speed 1.25', async () => (await m.command(['get_property', 'speed'])) === 1.25)
    await p.play()
    await waitFor('mpv playing', async () => (await m.command(['get_property', 'pause'])) === false)
    await waitFor('state() playing', async () => (await p.state()).playing)
    await p.seek(60_000)
    await waitFor('mpv near 60 s', async () => near(await m.timePosMs(), 60_000, 500))
    await p.setRate(1)
    await p.pause()
    await waitFor('mpv paused', async () => (await m.command(['get_property', 'pause'])) === true)
    await waitFor('state() paused at rate 1', async () => { const s = await p.state(); return !s.playing && s.rate === 1 })
    await p.seek(10_000)
    await waitFor('state() at 10 s', async () => near((await p.state()).positionMs, 10_000, SEEK_LANDING_MS))
    // Pause while paused: mpv sends nothing; the pending entry must not swallow the user's play.
    await p.pause()

    // Barrier: a user action; had any of ours been reported, it would come first.
    await m.command(['set_property', 'pause', false])
    const events = await log.waitForCount(before + 1)
    assert.deepEqual(events.slice(before).map(e => e.kind), ['play'])
    await m.command(['set_property', 'pause', true])
    await log.waitForCount(before + 2)
    assert.deepEqual(log.kinds().slice(before), ['play', 'pause'])
  })

  it('gives a user seek right after our pause the state after both (paused)', async () => {
    const p = player as MprisPlayer
    const m = mpv as MpvProcess
    await p.play()
    await waitFor('state() playing', async () => (await p.state()).playing)
    const before = log.events.length
    await p.pause()
    // At once: mpv's PropertiesChanged for our pause is still in its ~100 ms batch.
    await m.command(['seek', 40, 'absolute'])
    const events = await log.waitForCount(before + 1)
    const ev = events[before]
    assert.equal(ev?.kind, 'seek')
    assert.equal(ev?.state.playing, false)
    assert.ok(near(ev?.state.positionMs ?? -1, 40_000, SEEK_LANDING_MS), `seek to ${ev?.state.positionMs}`)
  })

  it('takes a user seek within milliseconds of our play for the user\'s, not for part of our play', async () => {
    const p = player as MprisPlayer
    const m = mpv as MpvProcess
    await p.pause()
    await waitFor('state() paused', async () => !(await p.state()).playing)
    for (const targetS of [45, 15]) {
      const before = log.events.length
      await p.play()
      // As soon as mpv plays (our Play has landed; its PropertiesChanged is still in mpv's batch).
      await waitFor('mpv playing', async () => (await m.command(['get_property', 'pause'])) === false, { intervalMs: 0 })
      await m.command(['seek', targetS, 'absolute'])
      const events = await log.waitForCount(before + 1)
      const ev = events[before]
      assert.equal(ev?.kind, 'seek', `events after our play: ${log.kinds().slice(before).join(',')}`)
      assert.equal(ev?.state.playing, true)
      assert.ok(near(ev?.state.positionMs ?? -1, targetS * 1000, 500), `seek to ${ev?.state.positionMs}`)
      // Barrier: nothing else was reported in between.
      await m.command(['set_property', 'pause', true])
      await log.waitForCount(before + 2)
      assert.deepEqual(log.kinds().slice(before), ['seek', 'pause'])
    }
  })

  it('reports each user action (playerctl and mpv input) exactly once, with the state after it', async () => {
    const p = player as MprisPlayer
    const m = mpv as MpvProcess
    const b = bus as TestBus
    await p.pause()
    await waitFor('state() paused', async () => !(await p.state()).playing)
    const start = log.events.length

    await playerctl(b.address, m.busName, 'play')
    await log.waitForCount(start + 1)
    await playerctl(b.address, m.busName, 'pause')
    const afterPause = await log.waitForCount(start + 2)
    const pauseEv = afterPause[start + 1]
    assert.equal(pauseEv?.kind, 'pause')
    assert.equal(pauseEv?.state.playing, false)
    // The pause carries the position it happened at (what peers will seek to).
    assert.ok(near(pauseEv?.state.positionMs ?? -1, await m.timePosMs(), SEEK_LANDING_MS), `pause at ${pauseEv?.state.positionMs}`)

    await playerctl(b.address, m.busName, 'position', '50')
    const afterSeek = await log.waitForCount(start + 3)
    assert.equal(afterSeek[start + 2]?.kind, 'seek')
    assert.ok(near(afterSeek[start + 2]?.state.positionMs ?? -1, 50_000, SEEK_LANDING_MS), `seek to ${afterSeek[start + 2]?.state.positionMs}`)

    await m.command(['seek', 20, 'absolute'])
    const afterIpcSeek = await log.waitForCount(start + 4)
    assert.ok(near(afterIpcSeek[start + 3]?.state.positionMs ?? -1, 20_000, SEEK_LANDING_MS))

    await m.command(['set_property', 'speed', 1.5])
    await log.waitForCount(start + 5)
    await m.command(['set_property', 'speed', 1])
    await log.waitForCount(start + 6)

    await m.command(['loadfile', otherFile])
    const afterLoad = await log.waitForCount(start + 7)
    assert.equal(afterLoad[start + 6]?.state.media?.name, basename(otherFile))

    // Barrier, then the whole sequence: one event per action, in order, nothing else.
    await m.command(['set_property', 'pause', false])
    await log.waitForCount(start + 8)
    assert.deepEqual(log.kinds().slice(start), ['play', 'pause', 'seek', 'seek', 'rate', 'rate', 'media', 'play'])
  })
})
