import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FRESH_LAG_LEARNING_WEIGHT, FRESH_READING_LAG_MS, PlayerTrack, ROUGH_READINGS } from '../../src/sync/player-track.js'

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

test('the first reading after a jump lags more than later ones: how much is learnt when the track matures', () => {
  const track = new PlayerTrack()
  assert.equal(track.freshReadingLagMs, FRESH_READING_LAG_MS, 'a first guess before anything is learnt')
  track.reset(0, 1)
  const truth = (t: number): number => 20_000 + t
  // The first reading lags 35 ms; later ones (a player layer's own envelope) almost nothing.
  track.add(0, truth(0) - 35)
  for (let t = 100; t <= 2500; t += 100) track.add(t, truth(t) - 1)
  assert.ok(track.mature())
  const expected = FRESH_READING_LAG_MS + (34 - FRESH_READING_LAG_MS) * FRESH_LAG_LEARNING_WEIGHT
  assert.ok(Math.abs(track.freshReadingLagMs - expected) < 0.5, `fresh lag ${track.freshReadingLagMs}, expected ${expected}`)
  // A reset that is not a jump of the player (after a rate change) does not count as fresh.
  track.reset(3000, 1, false)
  track.add(3000, truth(3000) - 200)
  for (let t = 3100; t <= 5500; t += 100) track.add(t, truth(t) - 1)
  assert.ok(Math.abs(track.freshReadingLagMs - expected) < 0.5, 'unchanged')
})

test('a rough estimate from a few readings adds what so few typically fall short', () => {
  const track = new PlayerTrack()
  assert.equal(track.roughMs(0), null)
  track.reset(0, 1)
  track.add(0, 1000)
  // One fresh reading: its envelope is itself, short by the fresh lag on average.
  assert.equal(track.roughMs(0), 1000 + FRESH_READING_LAG_MS)
  assert.equal(track.roughMs(100), 1100 + FRESH_READING_LAG_MS, 'projected along the rate')
  track.add(100, 1090)
  assert.equal(track.size, 2)
  assert.ok(Math.abs((track.roughMs(100) ?? 0) - (1100 + 2 * FRESH_READING_LAG_MS / 3)) < 1e-9, 'two readings: 2 x lag / 3')
  for (let t = 200; t < 100 * ROUGH_READINGS; t += 100) track.add(t, 1000 + t)
  assert.equal(track.size, ROUGH_READINGS)
  assert.ok((track.roughMs(500) ?? 0) > 1500, 'from ROUGH_READINGS on, the learnt shortfall (a positive first guess)')
})

test('a known jump moves the readings along; a stale observed rate does not rewrite history', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  feed(track, 0, 3000, t => 7000 + t)
  const before = track.projectedMs(3000) ?? 0
  track.shift(12)
  assert.ok(Math.abs((track.projectedMs(3000) ?? 0) - before - 12) < 1e-9)
  // A rate change at 3000; a reading stamped earlier still showing the old rate changes nothing before 3000.
  track.setRate(1.05, 3000)
  track.setRate(1, 2900)
  assert.equal(track.currentRate, 1)
  assert.ok(Math.abs((track.projectedMs(3100) ?? 0) - (before + 12 + 100)) < 1e-9, 'the rate is taken from 3000 on, not from 2900')
})

test('a rate change that takes effect later (mpv: ~0.3 s) is projected as the player runs: the old rate till then', () => {
  for (const [from, to] of [[1, 1.25], [1.5, 1]] as const) {
    const track = new PlayerTrack()
    track.reset(0, from)
    const switchMs = 3000 + 300
    const truth = (t: number): number => 5000 + (t < switchMs ? t * from : switchMs * from + (t - switchMs) * to)
    feed(track, 0, 3000, truth)
    track.setRate(to, 3000, 300)
    assert.equal(track.rateSettledAtMs, switchMs)
    // Judged before the change took effect: where it leaves the player.
    const early = track.projectedMs(switchMs)
    assert.ok(early !== null && Math.abs(early - truth(switchMs)) < 6, `${from} -> ${to}: projected ${early}, truth ${truth(switchMs)}`)
    feed(track, 3000, 6000, truth)
    const projected = track.projectedMs(6000)
    assert.ok(projected !== null && Math.abs(projected - truth(6000)) < 6, `${from} -> ${to}: projected ${projected}, truth ${truth(6000)}`)
  }
})

test('readings before a quiet time are skipped (a user\'s rate change, seen late, taking effect)', () => {
  const track = new PlayerTrack()
  track.reset(0, 1.25)
  track.quietUntil(300)
  track.add(100, 5000)
  track.add(200, 5100)
  assert.equal(track.size, 0)
  track.add(300, 5200)
  assert.equal(track.size, 1)
})


test('a player that loses time (mpv starved of CPU stops ~250 ms) is seen within a few readings, not taken for lag', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  // In step for 4 s, then it stands still from 4000 to 4250 and goes on from there.
  const truth = (t: number): number => 10_000 + (t < 4000 ? t : Math.max(4000, t - 250))
  let jumpedAtMs: number | null = null
  let k = 0
  for (let t = 0; t < 7000; t += 90 + (k++ * 37) % 30) {
    if (track.add(t, Math.floor(truth(t) / 40) * 40) && jumpedAtMs === null) jumpedAtMs = t
    // Once it is mature again, the projection is where the player is.
    const projected = track.projectedMs(t)
    if (t > 4400 && projected !== null) assert.ok(Math.abs(projected - truth(t)) < 10, `at ${t}: projected ${projected.toFixed(1)}, truth ${truth(t)}`)
  }
  assert.ok(jumpedAtMs !== null && jumpedAtMs < 4600, `the loss was seen at ${String(jumpedAtMs)}`)
  // One late reading far below (a read delayed under load) is lag, not a loss.
  const steady = new PlayerTrack()
  steady.reset(0, 1)
  feed(steady, 0, 4000, t => 10_000 + t)
  assert.equal(steady.add(4000, 10_000 + 4000 - 200), false)
  assert.equal(steady.add(4100, 10_000 + 4100), false)
  assert.ok(steady.mature())
})

test('a position the player layer fitted itself is projected as it is, not from the envelope its scatter would lift', () => {
  const track = new PlayerTrack()
  track.reset(0, 1)
  const truth = (t: number): number => 30_000 + t
  // VLC's fitted estimates in their first seconds: 40 ms either side of the truth, then 4 ms ahead.
  for (let t = 0; t <= 2400; t += 100) track.add(t, truth(t) + (t < 2000 ? (Math.floor(t / 1000) % 2 === 0 ? 40 : -40) : 4), t < 2000 ? 40 : 5)
  assert.equal(track.fitted, true)
  assert.equal(track.uncertaintyMs, 5)
  assert.equal(track.projectedMs(2500), truth(2500) + 4, 'the latest estimate, moved along')
  // The same numbers as readings that only lag: their envelope, 40 ms ahead.
  const lagging = new PlayerTrack()
  lagging.reset(0, 1)
  for (let t = 0; t <= 2400; t += 100) lagging.add(t, truth(t) + (t < 2000 ? (Math.floor(t / 1000) % 2 === 0 ? 40 : -40) : 4))
  assert.equal(lagging.fitted, false)
  assert.equal(lagging.uncertaintyMs, 0)
  assert.equal(lagging.projectedMs(2500), truth(2500) + 40)
  track.reset(3000, 1)
  assert.equal(track.fitted, false, 'a jump forgets the fit')
})
