/**
 * A member who abuses the sync protocol, against one engine in simulated time: invented authors
 * by the ten thousand, a state anchored a month ahead, impossible offset reports. Each is refused
 * with a reason, bounded, and leaves the room's state as it was.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SyncEngine } from '../../src/sync/engine.js'
import { MAX_ANCHOR_AHEAD_MS, MAX_KNOWN_NODES } from '../../src/sync/config.js'
import type { Action, NodeId, PlaybackState } from '../../src/sync/types.js'
import { timerDelayMs, MAX_TIMER_MS } from '../../src/daemon/driver.js'

const A: NodeId = 'aa'.repeat(32)
const B: NodeId = 'bb'.repeat(32)
const FILM = { id: 'film.mkv', name: 'film.mkv', lengthMs: 5_400_000 }
const DAY_MS = 24 * 3600 * 1000

const rejections = (actions: Action[]): string[] =>
  actions.flatMap(a => a.type === 'notice' && a.notice.kind === 'rejected' ? [a.notice.reason] : [])

/** A with one direct peer (`peers`), each measured over a symmetric path (`rttMs`, clocks equal). */
function engineWith (peers: Array<[NodeId, number]>): SyncEngine {
  const a = new SyncEngine({ nodeId: A })
  for (const [peer, rttMs] of peers) {
    a.handle({ type: 'peer-up', peer }, 0)
    for (let i = 0; i < 3; i++) {
      const t = 100 + i * 1000
      a.handle({ type: 'clock-sample', peer, t1: t, t2: t + rttMs / 2, t3: t + rttMs / 2, t4: t + rttMs }, t + rttMs)
    }
  }
  return a
}

test('media-wait from 50,000 invented authors keeps the engine to a bounded set of nodes', () => {
  const a = engineWith([[B, 20]])
  for (let i = 0; i < 50_000; i++) {
    const author = i.toString(16).padStart(64, 'e')
    a.handle({ type: 'message', from: B, author, msg: { type: 'media-wait', mediaId: `m${i}`, ready: false } }, 5000 + i / 100)
  }
  const known = a.snapshot(6000).peers.length
  assert.ok(known <= MAX_KNOWN_NODES + 1, `${known} nodes remembered`)
  assert.ok(a.snapshot(6000).peers.some(p => p.peer === B), 'the direct peer is kept')
})

test('a state anchored 30 days ahead is refused and changes nothing; far timers are capped', () => {
  const a = engineWith([[B, 20]])
  const far: PlaybackState = { media: FILM, playing: true, positionMs: 0, atMs: 5000 + 30 * DAY_MS, rate: 1, stamp: { lamport: 1, nodeId: B } }
  const out = a.handle({ type: 'message', from: B, author: B, msg: { type: 'event', state: far } }, 5000)
  assert.ok(rejections(out).some(r => /anchored .* ahead/.test(r)), JSON.stringify(out))
  assert.equal(a.snapshot(5000).state, null, 'the room\'s state did not change')
  const near: PlaybackState = { ...far, atMs: 5000 + MAX_ANCHOR_AHEAD_MS / 2 }
  assert.deepEqual(rejections(a.handle({ type: 'message', from: B, author: B, msg: { type: 'event', state: near } }, 5000)), [], 'a scheduled start ahead is fine')
  // Node fires a timer of more than 2^31-1 ms after 1 ms: the daemon never asks for one.
  assert.equal(timerDelayMs(30 * DAY_MS), MAX_TIMER_MS)
  assert.equal(timerDelayMs(-5), 0)
  assert.equal(timerDelayMs(Number.NaN), 0)
  assert.equal(timerDelayMs(10.2), 11)
})

test('impossible offset reports are refused; with three paths a lying neighbour is outvoted', () => {
  const C: NodeId = 'cc'.repeat(32)
  const D: NodeId = 'dd'.repeat(32)
  const E: NodeId = 'ee'.repeat(32)
  const a = engineWith([[B, 20], [C, 20], [D, 20]])
  const report = (from: NodeId, offsetMs: number, rttMs: number): Action[] =>
    a.handle({ type: 'message', from, author: from, msg: { type: 'offsets', entries: [{ peer: E, offsetMs, rttMs }] } }, 4000)
  assert.ok(rejections(report(B, 5000, 0)).some(r => /impossible offset report/.test(r)), 'a 0 ms round trip is impossible')
  // E is heard through relays only; B lies about it (offset 5000 over a 0.1 ms hop); C and D tell
  // the truth (offset 0 over 30 ms).
  a.handle({ type: 'message', from: B, author: E, msg: { type: 'media-wait', mediaId: 'x', ready: true } }, 4000)
  report(B, 5000, 0.1)
  const lied = a.snapshot(4000).peers.find(p => p.peer === E)?.offsetMs
  report(C, 0, 30)
  report(D, 0, 30)
  const outvoted = a.snapshot(4000).peers.find(p => p.peer === E)?.offsetMs
  assert.ok(lied !== undefined && lied !== null && Math.abs(lied - 5000) < 1, `with one path, it is used: ${lied}`)
  assert.ok(outvoted !== undefined && outvoted !== null && Math.abs(outvoted) < 1, `three paths: the liar is outvoted: ${outvoted}`)
})

test('a member lying about its wall clock moves our offset to it no further than its probes allow, and a wild claim not at all', () => {
  const a = engineWith([[B, 100]])
  const offsetOf = (t: number): number | null => a.snapshot(t).peers.find(p => p.peer === B)?.offsetMs ?? null
  a.handle({ type: 'os-clock', synced: true, clockMinusWallMs: 0 }, 4000)
  assert.equal(offsetOf(4000), 0)
  // A month off contradicts the probes: not used.
  a.handle({ type: 'message', from: B, author: B, msg: { type: 'clock-synced', synced: true, clockMinusWallMs: 30 * DAY_MS } }, 4000)
  assert.equal(offsetOf(4000), 0)
  // Just past what the probes allow (±50 ms on a 100 ms round trip): pulled at most to their edge.
  for (const claimMs of [55, -55, 1000]) {
    a.handle({ type: 'message', from: B, author: B, msg: { type: 'clock-synced', synced: true, clockMinusWallMs: claimMs } }, 4000)
    const off = offsetOf(4000)
    assert.ok(off !== null && Math.abs(off) <= 50 + 1e-6, `a claim of ${claimMs} ms moved the offset to ${String(off)}`)
  }
})
