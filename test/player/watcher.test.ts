/**
 * MprisWatcher on a private bus with real mpv: finding, choosing, listing, and following a player
 * across a crash and restart under the same name.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { isWatchmeshError } from '../../src/errors.js'
import type { Player } from '../../src/player/player.js'
import { MprisWatcher } from '../../src/player/watcher.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBus as startBusIn } from '../../src/demo/processes.js'
import { startBus } from '../fixtures/dbus.js'
import { trackChild, trackDir } from '../fixtures/cleanup.js'
import type { TestBus } from '../fixtures/dbus.js'
import { makeMedia } from '../fixtures/media.js'
import { startMpv } from '../fixtures/mpv.js'
import type { MpvProcess } from '../fixtures/mpv.js'
import { waitFor } from '../fixtures/wait.js'
import { recordUserEvents } from './helpers.js'

/** A deadline for things that must eventually happen (attach after a player appears: ~1 s). */
const EVENTUALLY_MS = 10_000

async function nextEvent<T> (emitter: MprisWatcher, name: 'attach' | 'detach'): Promise<T> {
  const [value] = await Promise.race([
    once(emitter, name),
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`no ${name} within ${EVENTUALLY_MS} ms`)), EVENTUALLY_MS).unref())
  ])
  return value as T
}

describe('MprisWatcher', () => {
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {})
  })
  const track = <T extends { close: () => Promise<void> }>(x: T): T => {
    cleanups.push(async () => await x.close())
    return x
  }

  it('reports NO_PLAYER on an empty bus, then attaches when mpv appears', async () => {
    const bus: TestBus = track(await startBus())
    const watcher = track(new MprisWatcher({ busAddress: bus.address }))
    assert.deepEqual(await watcher.list(), [])
    await assert.rejects(watcher.choose(), (err: unknown) => isWatchmeshError(err, 'NO_PLAYER') && /no MPRIS media player/.test(err.message))

    await watcher.start()
    assert.equal(watcher.current, null)
    assert.match(watcher.notFollowing ?? '', /no MPRIS media player on the session bus/)
    const attached = nextEvent<Player>(watcher, 'attach')
    const mpv = track(await startMpv({ busAddress: bus.address, file: await makeMedia(), paused: true }))
    const player = await attached
    assert.equal(player.busName, mpv.busName)
    assert.equal(watcher.current, player)
    assert.equal(watcher.notFollowing, null)

    const [listing] = await watcher.list()
    assert.equal(listing?.busName, mpv.busName)
    assert.equal(listing?.identity, 'mpv')
    assert.equal(listing?.playbackStatus, 'Paused')
    assert.match(listing?.media?.name ?? '', /^testsrc-/)

    const other = track(new MprisWatcher({ busAddress: bus.address, selector: 'vlc' }))
    await assert.rejects(other.choose(), (err: unknown) => isWatchmeshError(err, 'NO_PLAYER') && /--player=vlc.*mpv/.test(err.message))
    const byIdentity = track(new MprisWatcher({ busAddress: bus.address, selector: 'MPV' }))
    assert.equal((await byIdentity.choose()).busName, mpv.busName)
  })

  it('picks the playing player among several', async () => {
    const bus = track(await startBus())
    const file = await makeMedia()
    const paused = track(await startMpv({ busAddress: bus.address, file, paused: true }))
    const playing = track(await startMpv({ busAddress: bus.address, file, paused: false }))
    assert.notEqual(paused.busName, playing.busName)
    const watcher = track(new MprisWatcher({ busAddress: bus.address }))
    await watcher.start()
    assert.equal(watcher.current?.busName, playing.busName)
  })

  it('re-attaches after kill -9 and a restart under the same name, and still receives signals', async () => {
    const bus = track(await startBus())
    const file = await makeMedia()
    const first: MpvProcess = track(await startMpv({ busAddress: bus.address, file, paused: true }))
    const watcher = track(new MprisWatcher({ busAddress: bus.address }))
    await watcher.start()
    const old = watcher.current
    assert.ok(old !== null)

    const detached = nextEvent<Player>(watcher, 'detach')
    first.kill('SIGKILL')
    assert.equal(await detached, old)
    assert.equal(watcher.current, null)
    await assert.rejects(old.state(), (err: unknown) => isWatchmeshError(err, 'PLAYER_GONE'))

    const attached = nextEvent<Player>(watcher, 'attach')
    const second = track(await startMpv({ busAddress: bus.address, file, paused: true }))
    const player = await attached
    assert.equal(second.busName, first.busName, 'restarted under the same well-known name')
    assert.notEqual(player, old)

    // The watcher may attach before mpv has opened the file; opening it is a media change.
    await waitFor('the file open in the new mpv', async () => (await player.state()).media?.url === `file://${file}`)
    // Signals from the new process reach the new player. The file's opening may still be reported
    // after the read above (mpv-mpris sends Metadata from a 100 ms timer: a fresh-clone CI run saw
    // `media` first): only the play and the seek are judged here.
    const log = recordUserEvents(player)
    const controls = (): string[] => log.kinds().filter(k => k !== 'media')
    await second.command(['set_property', 'pause', false])
    await waitFor('the play reported', () => controls().length >= 1)
    await second.command(['seek', 42, 'absolute'])
    await waitFor('the seek reported', () => controls().length >= 2)
    assert.deepEqual(controls(), ['play', 'seek'])
    // Only a Seeked signal sets this (reads cannot): proof that signals arrive after the restart.
    await waitFor('a Seeked signal seen', () => player.capabilities().sendsSeeked === true)
  })

  it('follows the player again after the session bus dies and comes back, saying so once', async () => {
    // A bus at a fixed path (no guid in the address): what a desktop session's bus looks like.
    const dir = await mkdtemp(join(tmpdir(), 'wm-bus-restart-'))
    trackDir(dir)
    cleanups.push(async () => await rm(dir, { recursive: true, force: true }))
    const socket = join(dir, 'bus')
    const address = `unix:path=${socket}`
    const file = await makeMedia()
    const first = track(await startBusIn(dir, trackChild))
    track(await startMpv({ busAddress: address, file, paused: true }))
    const watcher = track(new MprisWatcher({ busAddress: address }))
    const logs: Array<{ level: string, msg: string }> = []
    watcher.on('log', entry => logs.push(entry))
    await watcher.start()
    const old = watcher.current
    assert.ok(old !== null)

    const detached = nextEvent<Player>(watcher, 'detach')
    first.process.kill('SIGKILL') // mpv-mpris loses its bus too; mpv plays on without it
    assert.equal(await detached, old)
    assert.match(watcher.notFollowing ?? '', /session bus is gone/)
    // Several rescans fail while the bus is away: one warning, not one a second.
    await waitFor('a few failed rescans', () => logs.filter(l => /looking for players failed/.test(l.msg)).length >= 3)
    const warnings = logs.filter(l => l.level === 'warn')
    assert.equal(warnings.length, 1, JSON.stringify(warnings))
    assert.match(warnings[0]?.msg ?? '', /lost the D-Bus session bus/)

    await rm(socket, { force: true }) // a killed dbus-daemon leaves its socket behind
    track(await startBusIn(dir, trackChild))
    const attached = nextEvent<Player>(watcher, 'attach')
    const mpv = track(await startMpv({ busAddress: address, file, paused: true }))
    const player = await attached
    assert.equal(player.busName, mpv.busName)
    assert.ok(logs.some(l => l.level === 'info' && /connected to the D-Bus session bus again/.test(l.msg)))
    // Signals arrive over the new connection.
    const log = recordUserEvents(player)
    await mpv.command(['set_property', 'pause', false])
    await log.waitForCount(1)
    assert.deepEqual(log.kinds(), ['play'])
  })
})
