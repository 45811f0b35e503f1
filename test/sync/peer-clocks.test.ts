import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PeerClocks } from '../../src/sync/peer-clocks.js'
import { OFFSETS_INTERVAL_MS, OS_CLOCK_ERROR_MS, RELAYED_PRESENCE_TTL_MS } from '../../src/sync/config.js'
import type { ClockSample } from '../../src/sync/offset.js'

/** One symmetric exchange at `t1` with a peer whose clock reads ours + offsetMs. */
function exchange (t1: number, offsetMs: number, oneWayMs = 10): ClockSample {
  const t2 = t1 + oneWayMs + offsetMs
  return { t1, t2, t3: t2, t4: t1 + 2 * oneWayMs }
}

const never = (): void => { throw new Error('no clock restart expected') }

test('a direct peer is measured from its samples; a node behind it gets a composed offset', () => {
  const c = new PeerClocks('a')
  c.up('b', 0, () => {})
  assert.equal(c.offsetTo('b', 0), null, 'nothing is read on a clock before its first sample')
  assert.ok(c.sample('b', exchange(100, 500), 120, never))
  assert.equal(c.offsetTo('b', 120), 500)
  // b reports c at +250 from b: c is at 750 from us, its round trip the sum of both.
  const { known, reply } = c.receiveOffsets('b', [{ peer: 'c', offsetMs: 250, rttMs: 30 }], 200, never)
  assert.equal(known, true)
  assert.deepEqual(reply, [{ peer: 'b', offsetMs: 500, rttMs: 20 }], 'a report doubles as a request for ours')
  assert.deepEqual(c.composedOffset('c', 200), { offsetMs: 750, rttMs: 50 })
  assert.equal(c.offsetTo('c', 200), 750)
  assert.equal(c.receiveOffsets('x', [], 200, never).known, false, 'a report from a stranger is ignored')
})

test('a reported offset that moves beyond both round trips is a clock restart, said with the offset from before', () => {
  const c = new PeerClocks('a')
  c.up('b', 0, () => {})
  c.sample('b', exchange(100, 0), 120, never)
  c.receiveOffsets('b', [{ peer: 'c', offsetMs: 1000, rttMs: 20 }], 200, never)
  const restarts: Array<[string, number | null]> = []
  c.receiveOffsets('b', [{ peer: 'c', offsetMs: -5000, rttMs: 20 }], 300, (node, beforeMs) => restarts.push([node, beforeMs]))
  assert.deepEqual(restarts, [['c', 1000]])
})

test('a node heard only through relays is present for RELAYED_PRESENCE_TTL_MS, and a tick is asked for when it runs out', () => {
  const c = new PeerClocks('a')
  c.up('b', 0, () => {})
  c.heardFrom('c', 1000)
  assert.equal(c.present('c', 1000 + RELAYED_PRESENCE_TTL_MS), true)
  assert.equal(c.present('c', 1001 + RELAYED_PRESENCE_TTL_MS), false)
  // Relayed-only node present: the first offsets round is due at once (none was ever made)...
  assert.equal(c.nextDueMs(1000, null), -Infinity)
  c.dueReports(1000, 1001, null)
  // ...the next one after OFFSETS_INTERVAL_MS, unless the node's presence runs out first.
  assert.equal(c.nextDueMs(1000, null), Math.min(1000 + OFFSETS_INTERVAL_MS, 1001 + RELAYED_PRESENCE_TTL_MS))
  c.forgetSilent(1001 + RELAYED_PRESENCE_TTL_MS)
  assert.deepEqual(c.known(), ['b'])
  assert.equal(c.nextDueMs(2000 + RELAYED_PRESENCE_TTL_MS, null), null, 'nothing left to wake for')
})

test('a peer that goes down keeps its estimator for a hand-over; the leader fallback is the smallest direct id', () => {
  const c = new PeerClocks('m')
  c.up('z', 0, () => {})
  c.up('b', 0, () => {})
  c.sample('b', exchange(100, 42), 120, never)
  assert.equal(c.smallestDirect(), 'b')
  c.down('b')
  assert.equal(c.isDirect('b'), false)
  assert.equal(c.offsetTo('b', 200), 42, 'a departed clock is still projected')
  assert.equal(c.smallestDirect(), 'm')
  // Back again: the old estimator resumes, but nothing is read on it until a sample says.
  let sawOldOffset: number | null = null
  c.up('b', 300, () => { sawOldOffset = c.offsetTo('b', 300) })
  assert.equal(sawOldOffset, null, 'a departed estimator is taken back before beforeRegister runs')
  assert.equal(c.offsetTo('b', 300), null)
})

test('a changed report goes at once to neighbours holding our last one, not to others', () => {
  const c = new PeerClocks('a')
  c.up('b', 0, () => {})
  c.up('c', 0, () => {})
  c.sample('b', exchange(100, 5), 120, never)
  // b measured: the report changed; nobody holds a report of ours yet, so no round, no send.
  assert.deepEqual(c.dueReports(130, 131, null), [])
  c.receiveOffsets('c', [], 140, never) // c gets ours in reply: it holds a report now
  c.sample('c', exchange(150, 7), 170, never)
  assert.deepEqual(c.dueReports(180, 181, null).map(r => r.to), ['c'])
})

test('an offset is narrowed by the wall clocks only while both ends say theirs is synced, also while the peer is away and after it is back', () => {
  const c = new PeerClocks('a')
  c.up('b', 0, () => {})
  // 20 ms out, 100 ms back: two-way puts b's clock 40 ms off its true +500.
  const t1 = 100
  const t2 = t1 + 20 + 500
  assert.ok(c.sample('b', { t1, t2, t3: t2, t4: t1 + 120 }, 220, never))
  assert.equal(c.offsetTo('b', 220), 460)
  // Process clock minus wall clock at each end: ours 7, b's 507 (its process began 500 ms "later").
  c.setOwnOsClock(7)
  assert.equal(c.offsetTo('b', 220), 460, 'our clock alone says nothing of b\'s')
  assert.equal(c.peerOsSynced('b'), null)
  assert.ok(c.setPeerOsClock('b', true, 507))
  assert.equal(c.peerOsSynced('b'), true)
  const narrowed = c.offsetTo('b', 220)
  assert.ok(narrowed !== null && Math.abs(narrowed - 500) <= 2 * OS_CLOCK_ERROR_MS + 1e-9, `narrowed to ${String(narrowed)}`)
  assert.ok((c.offsetUncertaintyMs('b', 220) ?? Infinity) <= 4 * OS_CLOCK_ERROR_MS, 'and the bound shrinks with it')
  c.setPeerOsClock('b', false, null)
  assert.equal(c.offsetTo('b', 220), 460, 'b says its clock is no longer synced')
  assert.equal(c.peerOsSynced('b'), false)
  c.setPeerOsClock('b', true, 507)
  c.setOwnOsClock(null)
  assert.equal(c.offsetTo('b', 220), 460, 'ours is no longer synced')
  c.setOwnOsClock(7)
  assert.equal(c.offsetTo('b', 220), narrowed)
  // Away, its clock may still carry the timeline until the hand-over: read as narrowed as before,
  // not 40 ms off and back again once it is here and says it again.
  c.down('b')
  assert.equal(c.offsetTo('b', 220), narrowed)
  c.up('b', 300, () => {})
  assert.equal(c.peerOsSynced('b'), true, 'what it said stands until it says again')
  assert.ok(c.sample('b', { t1, t2, t3: t2, t4: t1 + 120 }, 320, never))
  assert.equal(c.offsetTo('b', 320), narrowed)
  assert.equal(c.setPeerOsClock('z', true, 0), false, 'not a direct peer')
})
