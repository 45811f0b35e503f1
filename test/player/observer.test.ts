/**
 * The observer both backends share, in simulated time: what it makes of readings as a backend
 * would feed them (MPRIS reads and signals, mpv's pushed properties).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PlayerObserver } from '../../src/player/observer.js'
import type { MediaInfo } from '../../src/player/player.js'

const film: MediaInfo = { id: 'film.mkv', name: 'film.mkv', title: null, url: 'file:///m/film.mkv', lengthMs: 5_400_000 }
const next: MediaInfo = { id: 'next.mkv', name: 'next.mkv', title: null, url: 'file:///m/next.mkv', lengthMs: 5_400_000 }

function started (): PlayerObserver {
  const o = new PlayerObserver()
  o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 10_000, sentMs: 0, rttMs: 0 })
  return o
}

describe('PlayerObserver', () => {
  it('the first observation is what the player is, never an action', () => {
    const o = new PlayerObserver()
    const j = o.observe({ atMs: 0, playing: true, rate: 1, media: film, positionMs: 10_000 })
    assert.deepEqual(j.kinds, [])
    assert.equal(j.state.playing, true)
    assert.equal(o.stateAt(1_000).positionMs, 11_000)
  })

  it('our own commands echo back as nothing; the same changes unasked are the user\'s', () => {
    const o = started()
    o.expect({ kind: 'status', playing: true }, 100)
    assert.deepEqual(o.observe({ atMs: 150, playing: true }).kinds, [])
    o.expect({ kind: 'seek', positionMs: 60_000 }, 1_000)
    assert.deepEqual(o.observe({ atMs: 1_030, positionMs: 60_000 }).kinds, [], 'our seek, pushed by value')
    assert.deepEqual(o.observe({ atMs: 2_000, playing: false }).kinds, ['pause'])
    assert.deepEqual(o.observe({ atMs: 2_100, positionMs: 60_900 }).kinds, [], 'where the pause left it')
    assert.deepEqual(o.observe({ atMs: 3_000, positionMs: 90_000 }).kinds, ['seek'], 'a jump nobody asked for')
    assert.equal(o.seeked(90_000, 3_010), false, 'its Seeked (playback-restart) is the same seek, not another')
  })

  it('a file we opened is ours, another is the user\'s; a change without a position asks for a read', () => {
    const o = started()
    o.expect({ kind: 'media', url: next.url as string }, 100)
    const ours = o.observe({ atMs: 200, media: next })
    assert.deepEqual(ours.kinds, [])
    assert.equal(ours.wantsRead, true)
    assert.deepEqual(o.observe({ atMs: 300, media: film }).kinds, ['media'])
  })

  it('a rate nudge of ours keeps the line; the user\'s rate change is reported', () => {
    const o = started()
    o.observe({ atMs: 100, playing: true, positionMs: 10_000, sentMs: 100, rttMs: 0 })
    o.expect({ kind: 'rate', rate: 1.002 }, 200)
    assert.deepEqual(o.observe({ atMs: 210, rate: 1.002 }).kinds, [])
    assert.deepEqual(o.observe({ atMs: 400, rate: 1.5 }).kinds, ['rate'])
  })

  it('a stop near the end of the file is the file ending; elsewhere a pause where the player was', () => {
    const o = new PlayerObserver()
    o.observe({ atMs: 0, playing: true, rate: 1, media: film, positionMs: 5_398_000 })
    const end = o.observe({ atMs: 1_000, playing: false, stopped: true, positionMs: 0 })
    assert.deepEqual([end.kinds, end.endOfMedia], [[], true])
    const mid = started()
    mid.observe({ atMs: 100, playing: true, positionMs: 10_000, sentMs: 100, rttMs: 0 })
    const stop = mid.observe({ atMs: 1_100, playing: false, stopped: true, positionMs: 0 })
    assert.deepEqual(stop.kinds, ['pause'])
    assert.ok(Math.abs(stop.state.positionMs - 11_000) < 1, `stopped at ${stop.state.positionMs}, not at 0`)
  })
})
