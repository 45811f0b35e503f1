import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PlayerTrack } from '../../src/sync/player-track.js'

/** Readings of a player at `rate` from `startMs`, floored to 40 ms frames, polled every 100-250 ms. */
function feed (track: PlayerTrack, fromMs: number, toMs: number, truth: (t: number) => number): void {
  let k = 0
  for (let t = fromMs; t < toMs; t += 100 + (k++ * 37) % 150) track.add(t, Math.floor(truth(t) / 40) * 40)
}

test('frame-floored readings project to within a few ms of the true position, and the lag is learnt', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  const truth = (t: number) => 10_017 + t
  feed(track, 0, 8000, truth)
  const projected = track.projectedMs(8000)
  assert.ok(projected !== null)
  assert.ok(projected <= truth(8000) + 0.5 && projected >= truth(8000) - 5, `projected ${projected}, truth ${truth(8000)}`)
  assert.ok(track.readingLagMs > 5 && track.readingLagMs < 35, `lag ${track.readingLagMs}`)
})

test('not mature before enough readings over a long enough span', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  feed(track, 0, 500, t => t)
  assert.equal(track.projectedMs(500), null)
})

test('our own rate changes are accounted for', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  // Runs at 1.0 until 3 s, then we nudge it to 1.05.
  const truth = (t: number) => t < 3000 ? 5000 + t : 5000 + 3000 + (t - 3000) * 1.05
  feed(track, 0, 3000, truth)
  track.setRate(1.05, 3000)
  feed(track, 3000, 6000, truth)
  const projected = track.projectedMs(6000)
  assert.ok(projected !== null && Math.abs(projected - truth(6000)) < 6, `projected ${projected}, truth ${truth(6000)}`)
})

test('a jump in the readings (a seek nobody told us about) starts the track again', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  feed(track, 0, 4000, t => 1000 + t)
  assert.ok(track.mature())
  track.add(4100, 90_000)
  assert.equal(track.mature(), false)
  assert.equal(track.projectedMs(4100), null)
})
