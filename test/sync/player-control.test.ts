import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PlayerControl, type ControlHost } from '../../src/sync/player-control.js'
import { resolveConfig, SEEK_LEAD_MS, START_LATENCY_MS } from '../../src/sync/config.js'
import { positionAt } from '../../src/sync/timeline.js'
import type { Action, PlaybackState, PlayerObservation } from '../../src/sync/types.js'

const media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_200_000 }
const abilities = { canSeek: true, canPause: true, rateMin: 0.5, rateMax: 2 }

/** A host whose timeline is `state` on a clock at offset `offsetMs` (null: unknown). */
function host (state: PlaybackState, offsetMs: number | null): ControlHost {
  return {
    state,
    expectedAt: (tMs) => positionAt(state, state.playing ? offsetMs : null, tMs),
    clockOffsetMs: () => offsetMs,
    refineOwnState: () => false,
    syncPlayer: () => {}
  }
}
const reading = (atMs: number, positionMs: number, playing: boolean): PlayerObservation => ({ playing, positionMs, atMs, rate: 1, media })
const commands = (out: Action[]): unknown[] => out.flatMap(a => a.type === 'player' ? [a.cmd] : [])

test('a paused state is one pause at exactly its position', () => {
  const s: PlaybackState = { media, playing: false, positionMs: 42_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(0, 10_000, true), 0)
  const out: Action[] = []
  assert.equal(c.apply(100, out), true)
  assert.deepEqual(commands(out), [{ op: 'pause', positionMs: 42_000 }])
})

test('a playing state far from the player is a scheduled start: pause at T = now + seek lead, play the start latency before', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(1000, 5000, true), 1000)
  const out: Action[] = []
  c.apply(1000, out)
  const startAtMs = 1000 + SEEK_LEAD_MS
  assert.deepEqual(commands(out), [{ op: 'pause', positionMs: 60_000 + startAtMs }])
  const playAtMs = startAtMs - START_LATENCY_MS
  assert.equal(c.nextDueMs(1000), playAtMs, 'it wakes for the play')
  const later: Action[] = []
  c.runDue(playAtMs - 5, playAtMs - 4, later)
  assert.deepEqual(commands(later), [], 'not before its time')
  c.runDue(playAtMs, playAtMs + 1, later)
  assert.deepEqual(commands(later), [{ op: 'play' }])
  assert.equal(c.nextDueMs(playAtMs), null)
})

test('a playing state on a clock we cannot read is not applied (the rate is followed meanwhile)', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, null))
  c.attached(abilities, reading(1000, 5000, true), 1000)
  const out: Action[] = []
  assert.equal(c.apply(1000, out), false)
  assert.deepEqual(commands(out), [])
})
