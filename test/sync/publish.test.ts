import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Publisher } from '../../src/sync/publish.js'
import { ANNOUNCE_INTERVAL_MS, EVENT_MIN_INTERVAL_MS, FITTED_TRUST_MS, REFINE_MIN_MS, REFINE_WINDOW_MS, resolveConfig } from '../../src/sync/config.js'
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

test('our own action on a player the layer fits itself (VLC) is re-anchored by what is surely off while its fit narrows, never roughly, and to the estimate once sure', () => {
  const p = new Publisher(resolveConfig({ nodeId: 'a' }))
  const track = new PlayerTrack()
  track.reset(0, 1)
  p.ownAction(0, true, false, { kind: 'seek', shiftMs: 0 })
  // Published at 10_000 + t; the player is 12 ms behind that. Its estimates: the anchor, then 40 ms
  // ahead of it (sure to 48), then 20 ms behind it (sure to 24), then on it (sure to 10).
  const truth = (t: number): number => 10_000 + t - 12
  let lineMs = 0 // where the timeline has been moved to, against the published one
  const fit = (t: number): [number, number] => t < 1500 ? [12, 500] : t < 2000 ? [40, 48] : t < 2500 ? [-20, 24] : [0, FITTED_TRUST_MS]
  for (let t = 0; t <= 3000; t += 100) {
    const [scatterMs, uncertaintyMs] = fit(t)
    track.add(t, truth(t) + scatterMs, uncertaintyMs)
    const toMs = p.refineTo(t, true, track, 10_000 + t + lineMs)
    if (toMs === null) continue
    lineMs = toMs - (10_000 + t)
    assert.ok(t >= 2000, `re-anchored at ${t} ms, before its fit showed anything sure`)
    assert.ok(lineMs <= 0 && lineMs >= -12, `moved to ${lineMs.toFixed(1)} ms at ${t} ms: past the player (-12)`)
  }
  assert.ok(Math.abs(lineMs + 12) < REFINE_MIN_MS, `once sure: within ${REFINE_MIN_MS} ms of the estimate, at ${lineMs} ms`)
  assert.deepEqual(p.takeShownShift(), { kind: 'seek', shiftMs: -12 }, 'where the seek really landed, to learn')
  assert.equal(p.takeShownShift(), null, 'taken once')
  track.add(3100, truth(3100) - 30, 5)
  assert.equal(p.refineTo(3100, true, track, 10_000 + 3100 + lineMs), null, 'and then no more')
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
