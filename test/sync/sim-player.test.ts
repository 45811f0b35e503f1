/**
 * The simulated player's clock across speed changes: what the simulator's numbers rest on. A
 * failing case names its seed and times.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MPV, SimPlayer } from '../../sim/player.js'
import { SimClock } from '../../sim/clock.js'
import { Rng } from '../../sim/rng.js'

const SEEDS = 200
const MEDIA = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_500_000 }
/** Two true times this close count as one instant (no real clock change fits in it). */
const INSTANT_MS = 1e-6

function playingPlayer (seed: number): SimPlayer {
  const p = new SimPlayer(MPV, MEDIA, new SimClock({ originMs: 0, driftPpm: 0 }), new Rng(seed), 60_000)
  p.setPlaying(true, 0)
  return p
}

test('a second speed change while the first still takes effect moves the position only by a rate change\'s jump, and each rate runs its turn', () => {
  const [jumpMinMs, jumpMaxMs] = MPV.rateJumpMs
  const takesMs = MPV.rateTakesEffectMs
  for (let seed = 1; seed <= SEEDS; seed++) {
    const rng = new Rng(seed)
    const p = playingPlayer(seed)
    const [r0, r1, r2] = [1, rng.pick([0.75, 1.25, 1.5]), rng.pick([0.95, 1.05, 2])]
    const t0 = 1000
    const t1 = t0 + rng.uniform(1, takesMs - 1)
    p.setRate(r1, t0)
    const beforeMs = p.position(t1)
    p.setRate(r2, t1)
    const at = `seed ${seed}: ${r0} -> ${r1} at ${t0} ms, -> ${r2} at ${t1.toFixed(1)} ms`
    const jumpMs = p.position(t1) - beforeMs
    assert.ok(jumpMs >= jumpMinMs - INSTANT_MS && jumpMs <= jumpMaxMs + INSTANT_MS, `${at}: the position jumped ${jumpMs.toFixed(1)} ms at the second change (a rate change jumps ${jumpMinMs}-${jumpMaxMs} ms)`)
    // The old rate until the first change takes effect, the first's rate until the second does, then the second's.
    const slope = (a: number, b: number): number => (p.position(b) - p.position(a)) / (b - a)
    const cases: Array<[string, number, number, number]> = [
      ['before the first change takes effect', t1, t0 + takesMs, r0],
      ['between the two changes taking effect', t0 + takesMs, t1 + takesMs, r1],
      ['after the second change takes effect', t1 + takesMs, t1 + takesMs + 1000, r2]
    ]
    for (const [what, a, b, rate] of cases) {
      if (b - a < 1) continue
      assert.ok(Math.abs(slope(a, b) - rate) < 1e-9, `${at}: ${what} it ran at ${slope(a, b).toFixed(4)}x, not ${rate}x`)
    }
  }
})

test('a pause during a speed change stops the clock where it is; the play after runs at the new rate at once', () => {
  const p = playingPlayer(1)
  p.setRate(1.5, 1000)
  const pausedAtMs = p.position(1100)
  p.setPlaying(false, 1100)
  assert.ok(Math.abs(p.position(1500) - Math.floor(pausedAtMs / 40) * 40) < INSTANT_MS, 'paused, it rests on the frame it showed')
  p.setPlaying(true, 2000)
  const fromMs = p.position(2000)
  assert.ok(Math.abs(p.position(3000) - fromMs - 1500) < 1e-6, `it ran ${(p.position(3000) - fromMs).toFixed(1)} ms in 1 s at 1.5x`)
})
