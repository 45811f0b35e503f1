/**
 * `watchmesh demo`, the README's "try it now": three viewers, a private testnet, scripted actions.
 * Run here with the built-in simulated player (the mpv path is what the e2e tests cover piece by
 * piece), as a new user without mpv would run it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { DemoResult } from '../../src/demo/demo.js'
import { runWatchmesh } from '../fixtures/watchmesh.js'

/** One frame at 25 fps: the bar every step of the demo must meet. */
const FRAME_MS = 40

test('demo --player simulated --json: every step is followed and lands within a frame', async () => {
  const r = await runWatchmesh(['demo', '--player', 'simulated', '--json'], {}, 120_000)
  assert.equal(r.code, 0, r.stderr)
  const result = JSON.parse(r.stdout) as DemoResult
  assert.equal(result.players, 'simulated')
  assert.ok(result.meshMs > 0)
  assert.equal(result.steps.length, 8, JSON.stringify(result.steps))
  for (const s of result.steps) {
    assert.ok(s.skewMs >= 0 && s.skewMs <= FRAME_MS, `${s.step}: skew ${s.skewMs} ms`)
    if (!/leaves/.test(s.step)) assert.ok(s.followedMs !== null && s.followedMs >= 0, `${s.step} was not followed`)
  }
  assert.equal(result.worstSkewMs, Math.max(...result.steps.map(s => s.skewMs)))
  // The human-readable table went to stderr, so stdout stays one JSON object.
  assert.match(r.stderr, /worst skew over the run/)
})
