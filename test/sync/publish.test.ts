import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Publisher } from '../../src/sync/publish.js'
import { ANNOUNCE_INTERVAL_MS, EVENT_MIN_INTERVAL_MS, FITTED_TRUST_MS, REFINE_WINDOW_MS, resolveConfig } from '../../src/sync/config.js'
import { PlayerTrack } from '../../src/sync/player-track.js'

test('a burst of events is coalesced: one at once, the rest deferred to the end of the interval', () => {
  const p = new Publisher(resolveConfig({ nodeId: 'a' }))
  assert.equal(p.eventNowOrDefer(1000), true)
  p.eventSent(1000)
  assert.equal(p.eventNowOrDefer(1030), false)
  assert.equal(p.eventNowOrDefer(1060), false)
  assert.equal(p.nextDueMs(false), 1000 + EVENT_MIN_INTERVAL_MS)
  assert.equal(p.eventDue(1000 + EVENT_MIN_INTERVAL_MS - 1), false)
  assert.equal(p.eventDue(1000 + EVENT_MIN_INTERVAL_MS), true)
  p.clearDeferred()
  assert.equal(p.nextDueMs(false), null)
})

test('the leader re-announces every ANNOUNCE_INTERVAL_MS; an event counts as one; a take-over announces at once', () => {
  const p = new Publisher(resolveConfig({ nodeId: 'a' }))
  p.eventSent(500)
  assert.equal(p.nextDueMs(true), 500 + ANNOUNCE_INTERVAL_MS)
  assert.equal(p.announceDue(500 + ANNOUNCE_INTERVAL_MS - 1), false)
  p.announceAtOnce()
  assert.equal(p.announceDue(600), true)
})

test('our playing action is re-anchored only within REFINE_WINDOW_MS, only by a move worth making, and not at all when it starts at a shared T', () => {
  const p = new Publisher(resolveConfig({ nodeId: 'a' }))
  const track = new PlayerTrack()
  p.ownAction(0, true, true)
  assert.equal(p.refineTo(10, true, track, 0), null, 'a shared start is not re-anchored')
  p.ownAction(0, true, false)
  assert.equal(p.refineTo(REFINE_WINDOW_MS + 1, true, track, 0), null, 'too late')
  assert.equal(p.refineTo(10, true, track, 0), null, 'and it stays done')
})

test('our own action on a player the layer fits itself (VLC) is re-anchored once, when the fit is sure: not roughly, not to its early scatter', () => {
  const p = new Publisher(resolveConfig({ nodeId: 'a' }))
  const track = new PlayerTrack()
  track.reset(0, 1)
  p.ownAction(0, true, false)
  // Published at 10_000 + t; the estimates say 45 ms ahead, then behind, as the first edges come.
  let t = 0
  for (; t <= 2500; t += 100) {
    track.add(t, 10_000 + t + (t < 1500 ? 0 : t < 2000 ? 45 : -30), t < 1500 ? 500 : t < 2000 ? 48 : 24)
    assert.equal(p.refineTo(t, true, track, 10_000 + t), null, `re-anchored at ${t} ms, ${track.uncertaintyMs} ms sure`)
  }
  for (; t <= 4000; t += 100) track.add(t, 10_000 + t - 12, FITTED_TRUST_MS)
  assert.equal(p.refineTo(t, true, track, 10_000 + t), 10_000 + t - 12, 'once sure: to the latest estimate')
  assert.equal(p.refineTo(t + 100, true, track, 10_000 + t + 100 - 12 - 30), null, 'and only once')
})

test('an action published from a fitted reading is not re-anchored roughly when a reading in between comes without a fit', () => {
  const p = new Publisher(resolveConfig({ nodeId: 'a' }))
  const track = new PlayerTrack()
  track.reset(0, 1)
  p.ownAction(0, true, false, { kind: 'play', shiftMs: -28 })
  for (let t = 0; t <= 600; t += 100) {
    track.add(t, 10_000 + t + 40)
    assert.equal(p.refineTo(t, true, track, 10_000 + t), null, `re-anchored at ${t} ms from readings that lag`)
  }
})
