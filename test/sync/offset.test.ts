import { test } from 'node:test'
import assert from 'node:assert/strict'
import { JUMP_CONFIRM_SAMPLES, narrowByOsClocks, OffsetEstimator, toSample, type ClockSample, type OffsetEstimate } from '../../src/sync/offset.js'

/** One exchange with a peer whose clock reads ours + offsetMs, with the given one-way delays. */
function exchange (t1: number, offsetMs: number, upMs: number, downMs: number, holdMs = 0.1): ClockSample {
  const t2 = t1 + upMs + offsetMs
  const t3 = t2 + holdMs
  const t4 = t3 - offsetMs + downMs
  return { t1, t2, t3, t4 }
}

test('one symmetric exchange gives the exact offset and round trip', () => {
  const s = toSample(exchange(1000, 250, 10, 10))
  assert.ok(s !== null)
  assert.equal(s.offsetMs, 250)
  assert.ok(Math.abs(s.delayMs - 20) < 1e-9)
})

test('an asymmetric exchange is off by half the asymmetry, within the bound', () => {
  const s = toSample(exchange(1000, -3000, 40, 120))
  assert.ok(s !== null)
  assert.ok(Math.abs(s.offsetMs - (-3000 - 40)) < 1e-9)
  assert.ok(Math.abs(s.offsetMs - -3000) <= s.delayMs / 2)
})

test('impossible exchanges are rejected', () => {
  const est = new OffsetEstimator()
  assert.equal(est.add({ t1: 10, t2: 5, t3: 6, t4: 9 }), 'rejected') // reply before the probe
  assert.equal(est.add({ t1: 10, t2: 50, t3: 40, t4: 20 }), 'rejected') // peer replied before it received
  assert.equal(est.add({ t1: 10, t2: 50, t3: 70, t4: 20 }), 'rejected') // negative delay
  assert.equal(est.add({ t1: Number.NaN, t2: 1, t3: 2, t4: 3 }), 'rejected')
  assert.equal(est.add({ t1: 0, t2: 1, t3: 2, t4: 60_000 }), 'rejected') // absurd round trip
  assert.equal(est.estimate(100), null)
})

test('under jitter the lowest-delay sample wins, not the average', () => {
  const est = new OffsetEstimator()
  const truthMs = 1234.5
  // Delays with one quiet exchange among noisy ones; the noisy ones are asymmetric on purpose.
  const legs: Array<[number, number]> = [[50, 10], [45, 80], [11, 10], [70, 20], [30, 90], [60, 15]]
  let t = 0
  for (const [up, down] of legs) {
    assert.equal(est.add(exchange(t, truthMs, up, down)), 'accepted')
    t += 1000
  }
  const e = est.estimate(t)
  assert.ok(e !== null)
  assert.ok(Math.abs(e.offsetMs - truthMs) <= 0.5 + 1e-9, `offset ${e.offsetMs}`)
  assert.ok(Math.abs(e.rttMs - 21) < 0.2)
  assert.equal(e.samples, legs.length)
})

test('the quickest trip out and the quickest trip back pin the offset, even from different exchanges', () => {
  const est = new OffsetEstimator()
  // No exchange is symmetric, but one had a 10 ms trip out and another a 10 ms trip back.
  est.add(exchange(0, 777, 10, 60))
  est.add(exchange(1000, 777, 55, 10))
  est.add(exchange(2000, 777, 40, 40))
  const e = est.estimate(2100)
  assert.ok(e !== null)
  assert.ok(Math.abs(e.offsetMs - 777) < 0.2, `offset ${e.offsetMs}`)
})

test('a drifting peer clock is followed: the drift rate is measured and the offset projected', () => {
  const est = new OffsetEstimator()
  const driftPpm = 100
  const originMs = 5_000_000
  const peerOffset = (t: number) => originMs + t * driftPpm / 1e6
  // Deterministic jitter pattern: delays cycle through 10..40 ms, out and back out of phase.
  for (let i = 0; i < 240; i++) {
    const t1 = i * 1000
    const up = 10 + (i * 7 % 31)
    const down = 10 + (i * 13 % 29)
    const t2 = t1 + up + peerOffset(t1 + up)
    const t3 = t2 + 0.1
    const t4 = t1 + up + 0.1 + down
    est.add({ t1, t2, t3, t4 }, t4)
  }
  const now = 240_000
  const e = est.estimate(now)
  assert.ok(e !== null)
  assert.ok(Math.abs(est.driftPpm - driftPpm) < 10, `drift ${est.driftPpm} ppm`)
  assert.ok(Math.abs(e.offsetMs - peerOffset(now)) < 1, `offset error ${e.offsetMs - peerOffset(now)} ms`)
})

/** Deterministic uniform draws in [0, 1) (a small LCG: tests never depend on Math.random). */
function draws (seed: number): () => number {
  let x = seed
  return () => {
    x = (x * 1664525 + 1013904223) % 4294967296
    return x / 4294967296
  }
}

/** Exchanges once a second with a peer drifting at `driftPpm`, each one-way delay 50 ms ± jitter/2. */
function drifting (est: OffsetEstimator, count: number, driftPpm: number, jitterMs: number, seed: number, check: (i: number, errorMs: number) => void): void {
  const next = draws(seed)
  const peerOffset = (t: number) => 3_000_000 + t * driftPpm / 1e6
  for (let i = 0; i < count; i++) {
    const t1 = i * 1000
    const up = 50 - jitterMs / 2 + next() * jitterMs
    const down = 50 - jitterMs / 2 + next() * jitterMs
    const t2 = t1 + up + peerOffset(t1 + up)
    const t3 = t2 + 0.1
    const t4 = t1 + up + 0.1 + down
    assert.equal(est.add({ t1, t2, t3, t4 }, t4), 'accepted')
    const e = est.estimate(t4)
    assert.ok(e !== null)
    check(i, e.offsetMs - peerOffset(t4))
  }
}

test('before the drift is measured, jitter is not taken for drift', () => {
  // 30 ms of jitter over the first minute: the slope leaving the widest intersection wanders by up
  // to hundreds of ppm, which projected over the window's age was a p95 of 4 ms here.
  for (const driftPpm of [0, 50]) {
    const errors: number[] = []
    for (let seed = 1; seed <= 20; seed++) {
      drifting(new OffsetEstimator(), 60, driftPpm, 30, seed, (i, errorMs) => {
        if (i >= 20) errors.push(Math.abs(errorMs))
      })
    }
    errors.sort((x, y) => x - y)
    const p95 = errors[Math.floor(errors.length * 0.95)] as number
    assert.ok(p95 < 2.5, `${driftPpm} ppm: p95 ${p95} ms`)
  }
})

test('before the anchors, a drift the samples do show is followed', () => {
  // A quiet path (0.5 ms jitter) and a fast clock: 20 s of samples show 300 ppm plainly.
  const est = new OffsetEstimator()
  drifting(est, 20, 300, 0.5, 7, () => {})
  assert.ok(Math.abs(est.driftPpm - 300) < 30, `drift ${est.driftPpm} ppm`)
  const e = est.estimate(20_000)
  assert.ok(e !== null)
  assert.ok(Math.abs(e.offsetMs - (3_000_000 + 20_000 * 300 / 1e6)) < 0.3, `offset ${e.offsetMs}`)
})

test('a lone wild sample is set aside; a confirmed jump is re-learnt', () => {
  const est = new OffsetEstimator()
  let t = 0
  for (let i = 0; i < 5; i++, t += 1000) est.add(exchange(t, 500, 10, 10))
  assert.equal(est.add(exchange(t, 90_000, 10, 10)), 'suspect')
  t += 1000
  assert.equal(est.estimate(t)?.offsetMs, 500)
  assert.equal(est.add(exchange(t, 500, 10, 10)), 'accepted')
  t += 1000
  // The peer's clock steps by -7 s (for example it restarted): after a few agreeing samples, follow it.
  const verdicts = []
  for (let i = 0; i < JUMP_CONFIRM_SAMPLES; i++, t += 1000) verdicts.push(est.add(exchange(t, -6500, 12, 9)))
  assert.deepEqual(verdicts, [...Array(JUMP_CONFIRM_SAMPLES - 1).fill('suspect'), 'jump'])
  const e = est.estimate(t)
  assert.ok(e !== null)
  assert.ok(Math.abs(e.offsetMs - -6500) <= e.rttMs / 2)
})

test('reset forgets everything', () => {
  const est = new OffsetEstimator()
  est.add(exchange(0, 1, 1, 1))
  est.reset()
  assert.equal(est.estimate(10), null)
})

/** A two-way estimate: middle `offsetMs`, the true offset somewhere within ± `boundMs`. */
function twoWay (offsetMs: number, boundMs: number): OffsetEstimate {
  return { offsetMs, rttMs: 2 * boundMs, errorBoundMs: boundMs, samples: 10 }
}

test('synced wall clocks change nothing where the two-way middle already agrees with them', () => {
  // A symmetric path: the middle is right, and within the wall clocks' error of what they say.
  const est = narrowByOsClocks(twoWay(1000, 40), { offsetMs: 1006, errorMs: 10 })
  assert.equal(est.offsetMs, 1000)
  assert.ok(est.errorBoundMs <= 16 + 1e-9, 'the true offset is still bounded, now by the wall clocks')
})

test('on a lopsided path synced wall clocks pull the offset to within their error of what they say', () => {
  // 20 ms out, 100 ms back: the middle is 40 ms off the true offset (-3000), the bound 60 ms.
  const est = new OffsetEstimator()
  est.add(exchange(1000, -3000, 20, 100))
  const before = est.estimate(1120)
  assert.ok(before !== null)
  assert.ok(Math.abs(before.offsetMs - -3000) > 39, 'two-way alone cannot see the asymmetry')
  for (const wallMs of [-3000, -3004, -2995]) {
    const after = narrowByOsClocks(before, { offsetMs: wallMs, errorMs: 10 })
    assert.ok(Math.abs(after.offsetMs - -3000) <= 15, `wall clocks at ${wallMs}: ${after.offsetMs}`)
    assert.ok(Math.abs(after.offsetMs - -3000) <= after.errorBoundMs + 1e-9, 'the truth stays within the bound said')
    assert.ok(Math.abs(after.offsetMs - before.offsetMs) <= before.errorBoundMs + 1e-9, 'never outside what the paths allow')
  }
})

test('wall clocks that contradict the two-way bounds are not used; ones partly outside are clamped to them', () => {
  const est = twoWay(1000, 30)
  assert.deepEqual(narrowByOsClocks(est, { offsetMs: 1100, errorMs: 10 }), est, 'a wall clock far off: its OS says synced, but it is not')
  const clamped = narrowByOsClocks(est, { offsetMs: 1035, errorMs: 10 })
  assert.equal(clamped.offsetMs, 1025, 'the nearest point both allow')
  assert.ok(clamped.offsetMs <= 1030)
})
