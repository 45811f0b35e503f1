/**
 * `watchmesh demo`, the README's "try it now": three viewers, a private testnet, scripted actions.
 * Run here with the built-in simulated player (the mpv path is what the e2e tests cover piece by
 * piece), as a new user without mpv would run it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { DemoResult } from '../../src/demo/demo.js'
import { runWatchmesh } from '../fixtures/watchmesh.js'

/** One frame at 25 fps: the bar (the demo's own) every step must come within and stay. */
const FRAME_MS = 40

test('demo --player simulated --json: every step is followed and becomes steady within a frame', async () => {
  const r = await runWatchmesh(['demo', '--player', 'simulated', '--json'], {}, 180_000)
  assert.equal(r.code, 0, r.stderr)
  const result = JSON.parse(r.stdout) as DemoResult
  assert.equal(result.players, 'simulated')
  assert.ok(result.meshMs > 0)
  assert.equal(result.steps.length, 8, JSON.stringify(result.steps))
  // Each step's own wait has a deadline (the demo never hangs); what it saw is in the table.
  for (const s of result.steps) {
    assert.ok(s.settledMs !== null, `${s.step}: never within ${FRAME_MS} ms for 3 measurements in a row (last skew ${s.skewMs.toFixed(1)} ms); the run:\n${r.stderr}`)
    if (!/leaves/.test(s.step)) assert.ok(s.followedMs !== null && s.followedMs >= 0, `${s.step} was not followed`)
  }
  assert.equal(result.worstSkewMs, Math.max(...result.steps.map(s => s.skewMs)))
  // The human-readable table went to stderr, so stdout stays one JSON object.
  assert.match(r.stderr, /worst skew over the run/)
})
