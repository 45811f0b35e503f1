import { test } from 'node:test'
import assert from 'node:assert/strict'
import { actionKind, clockOf, inClock, isReanchor, leaderOf, positionAt, wireState } from '../../src/sync/timeline.js'
import type { PlaybackState } from '../../src/sync/types.js'

const media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_200_000 }
const playing: PlaybackState = { media, playing: true, positionMs: 10_000, atMs: 5000, rate: 1, stamp: { lamport: 3, nodeId: 'b' } }

test('the position at a local time is read through the offset to the state\'s clock', () => {
  // b's clock is ours + 1000: its 5000 is our 4000, so at our 6000 two seconds have played.
  assert.equal(positionAt(playing, 1000, 6000), 12_000)
  assert.equal(positionAt(playing, null, 6000), null, 'playing on an unknown clock: unknown')
  assert.equal(positionAt({ ...playing, playing: false }, null, 6000), 10_000, 'paused: no clock needed')
  assert.equal(positionAt(playing, 1000, 3000), 10_000, 'before its anchor the timeline waits')
})

test('a state re-expressed on another clock keeps its instant', () => {
  const moved = inClock(playing, 'c', 1000, -500, 6000)
  assert.equal(clockOf(moved), 'c')
  assert.equal(moved.atMs, 5000 - 1000 - 500)
  assert.equal(positionAt(moved, -500, 6000), positionAt(playing, 1000, 6000))
  assert.deepEqual(inClock(playing, 'c', null, -500, 6000), playing, 'playing from an unknown clock: left as it is')
  assert.equal(inClock({ ...playing, playing: false }, 'c', null, -500, 6000).atMs, 5500, 'paused: any instant will do')
})

test('the author\'s clock is left off the wire; another clock is kept', () => {
  assert.equal('clock' in wireState({ ...playing, clock: 'b' }), false)
  assert.equal(wireState({ ...playing, clock: 'c' }).clock, 'c')
})

test('a re-anchor is the author\'s own playing state, same stamp, later anchor on its own clock', () => {
  assert.equal(isReanchor(playing, { ...playing, atMs: 5020 }, 'b'), true)
  assert.equal(isReanchor(playing, { ...playing, atMs: 4980 }, 'b'), false, 'earlier anchor')
  assert.equal(isReanchor(playing, { ...playing, atMs: 5020 }, 'c'), false, 'relayed by another author')
  assert.equal(isReanchor(playing, { ...playing, atMs: 5020, clock: 'c' }, 'b'), false, 'on another clock')
})

test('the leader is the present author, else the fallback; nobody without a state', () => {
  assert.equal(leaderOf(playing, true, 'a'), 'b')
  assert.equal(leaderOf(playing, false, 'a'), 'a')
  assert.equal(leaderOf(null, true, 'a'), null)
})

test('what a new state did, for the terminal', () => {
  assert.equal(actionKind(playing, { ...playing, playing: false }, false), 'pause')
  assert.equal(actionKind(playing, { ...playing, rate: 1.5 }, false), 'rate')
  assert.equal(actionKind(playing, { ...playing, positionMs: 0 }, false), 'seek')
  assert.equal(actionKind(playing, { ...playing, media: { ...media, id: 'other.mkv', name: 'other.mkv' } }, false), 'media')
  assert.equal(actionKind(null, playing, true), 'media')
  assert.equal(actionKind(null, playing, false), 'play')
})
