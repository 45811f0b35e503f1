import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SyncEngine } from '../../src/sync/engine.js'
import { ADOPT_PLAYING_AFTER_MS, ANNOUNCE_INTERVAL_MS, EVENT_MIN_INTERVAL_MS, NUDGE_START_MS, RATE_JUMP_MS, START_LATENCY_GAIN, START_LATENCY_MS } from '../../src/sync/config.js'
import { decodeSyncMessage, encodeSyncMessage } from '../../src/sync/codec.js'
import { FRESH_READING_LAG_MS } from '../../src/sync/player-track.js'
import type { Action, Input, Media, NodeId, PlayerAbilities, PlayerCommand, PlayerObservation, SyncMessage } from '../../src/sync/types.js'

const A: NodeId = 'aa'.repeat(32)
const B: NodeId = 'bb'.repeat(32)
const C: NodeId = 'cc'.repeat(32)
const FILM: Media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 5_400_000 }
const OTHER: Media = { id: 'other.mkv', name: 'other.mkv', lengthMs: 100_000 }
const WITH_RATE: PlayerAbilities = { canSeek: true, canPause: true, rateMin: 0.5, rateMax: 2 }
/** A playing player's action is published from one reading plus what such a reading lags (a fresh engine's guess). */
const LAG = FRESH_READING_LAG_MS

function obs (playing: boolean, positionMs: number, atMs: number, media: Media | null = FILM, rate = 1): PlayerObservation {
  return { playing, positionMs, atMs, rate, media }
}

const commands = (actions: Action[]): PlayerCommand[] =>
  actions.flatMap(a => a.type === 'player' ? [a.cmd] : [])
const sent = (actions: Action[]): SyncMessage[] =>
  actions.flatMap(a => a.type === 'broadcast' || a.type === 'send' ? [a.msg] : [])
const wakes = (actions: Action[]): number[] =>
  actions.flatMap(a => a.type === 'wake' ? [a.atMs] : [])

/** Messages go through the codec, as they will on the wire. */
function deliver (to: SyncEngine, from: NodeId, actions: Action[], nowMs: number): Action[] {
  const out: Action[] = []
  for (const a of actions) {
    if (a.type === 'broadcast' || (a.type === 'send' && a.to === to.nodeId)) {
      const msg = decodeSyncMessage(encodeSyncMessage(a.msg))
      out.push(...to.handle({ type: 'message', from, author: from, msg }, nowMs))
    }
  }
  return out
}

/**
 * Two nodes whose clocks differ by `offsetMs` (B reads A + offsetMs), symmetric `oneWayMs` paths,
 * clock samples exchanged so both know the offset.
 */
function pair (offsetMs: number, oneWayMs = 20) {
  const a = new SyncEngine({ nodeId: A })
  const b = new SyncEngine({ nodeId: B })
  const tA = 10_000
  const tB = tA + offsetMs
  a.handle({ type: 'peer-up', peer: B }, tA)
  b.handle({ type: 'peer-up', peer: A }, tB)
  for (let i = 0; i < 3; i++) {
    const s = tA + i * 1000
    a.handle({ type: 'clock-sample', peer: B, t1: s, t2: s + oneWayMs + offsetMs, t3: s + oneWayMs + offsetMs + 0.1, t4: s + 2 * oneWayMs + 0.1 }, s + 2 * oneWayMs + 0.1)
    const r = s + offsetMs
    b.handle({ type: 'clock-sample', peer: A, t1: r, t2: r + oneWayMs - offsetMs, t3: r + oneWayMs - offsetMs + 0.1, t4: r + 2 * oneWayMs + 0.1 }, r + 2 * oneWayMs + 0.1)
  }
  return { a, b, nowA: tA + 3000, toB: (tAms: number) => tAms + offsetMs }
}

test('a pause from a peer pauses here at exactly that position, then seeks there', () => {
  const { a, b, nowA, toB } = pair(5000)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 60_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 60_010, toB(nowA)) }, toB(nowA))

  const paused = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 61_234, nowA + 1234) } }, nowA + 1234)
  assert.deepEqual(commands(paused), [], 'the initiator does not touch its own player')
  const event = sent(paused)
  assert.equal(event.length, 1)
  assert.equal(event[0]?.type, 'event')

  const atB = deliver(b, A, paused, toB(nowA + 1254))
  // One command: the pause rests on that frame (a second SetPosition would confuse echo suppression).
  assert.deepEqual(commands(atB), [{ op: 'pause', positionMs: 61_234 }])
  assert.equal(b.snapshot(toB(nowA + 1254)).state?.playing, false)
  assert.ok(atB.some(x => x.type === 'notice' && x.notice.kind === 'remote-action' && x.notice.action === 'pause'))
})

test('a remote play is scheduled: pre-seek to where the timeline will be, play when it gets there', () => {
  const offsetMs = -70_000
  const { a, b, nowA, toB } = pair(offsetMs)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, toB(nowA)) }, toB(nowA))

  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 30_000, nowA + 500) } }, nowA + 500)
  // B hears of it 20 ms later (its own clock reads A's - 70 s).
  const arrivalB = toB(nowA + 520)
  const atB = deliver(b, A, played, arrivalB)
  const cmds = commands(atB)
  assert.equal(cmds.length, 1)
  // A pause at the position to start from (harmless if already paused: a play of ours may be landing).
  const seek = cmds[0]
  assert.ok(seek?.op === 'pause')
  const [wakeAt] = wakes(atB)
  assert.ok(wakeAt !== undefined && wakeAt > arrivalB, 'asks to be woken in the future')

  const startAtB = b.playerStartLatencyMs + wakeAt
  // On A's timeline, the position at B's start instant is 30 000 (+ the reading's lag) + (start on A's clock - 500 ms after nowA).
  const expected = 30_000 + LAG + (startAtB - offsetMs - (nowA + 500))
  assert.ok(Math.abs(seek.positionMs - expected) < 1e-6, `seek to ${seek.positionMs}, expected ${expected}`)

  const early = b.handle({ type: 'tick' }, wakeAt - 5)
  assert.deepEqual(commands(early), [], 'not yet')
  assert.deepEqual(wakes(early), [wakeAt], 'a timer that fired early is asked for again')
  assert.deepEqual(commands(b.handle({ type: 'tick' }, wakeAt)), [{ op: 'play' }])
})

test('a remote state that the player already follows does not touch the player', () => {
  const { a, b, nowA, toB } = pair(123)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 1000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 1000 + 20, toB(nowA) + 20) }, toB(nowA) + 20)
  const seeked = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 1000, nowA) } }, nowA)
  assert.deepEqual(commands(deliver(b, A, seeked, toB(nowA) + 20)), [])
})

test('a viewer\'s own speed change publishes the timeline its player is on once the change takes effect; the others land it like a resume', () => {
  // mpv goes on at the old speed for ~0.3 s after a change reads back.
  const MPV_LIKE: PlayerAbilities = { ...WITH_RATE, rateTakesEffectMs: 300 }
  const { a, b, nowA, toB } = pair(123)
  a.handle({ type: 'player-attached', abilities: MPV_LIKE, observed: obs(true, 1000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: MPV_LIKE, observed: obs(true, 1000 + 20, toB(nowA) + 20) }, toB(nowA) + 20)
  const seeked = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 1000, nowA) } }, nowA)
  assert.deepEqual(commands(deliver(b, A, seeked, toB(nowA) + 20)), [])
  // Both players run on that timeline (1000 + LAG at nowA); A's viewer sets 1.25x at nowA + 1000.
  b.handle({ type: 'player-status', observed: obs(true, 2000 + LAG, toB(nowA + 1000)) }, toB(nowA + 1000))
  const changed = a.handle({ type: 'user', action: { kind: 'rate', observed: obs(true, 2000, nowA + 1000, FILM, 1.25) } }, nowA + 1000)
  const state = a.snapshot(nowA + 1000).state
  assert.equal(state?.rate, 1.25)
  // Its player runs on at 1x for 300 ms: on the new timeline from then on, 75 ms behind one started at the reading.
  assert.ok(state !== undefined && state !== null && Math.abs(state.positionMs - (2000 + LAG - 300 * 0.25)) < 1e-6, `published at ${state?.positionMs}`)
  assert.deepEqual(commands(changed), [], 'the viewer\'s own player is left alone')
  // B hears of it 20 ms later, in step at 1x: it lands the new speed like a resume, one start on the
  // new timeline (setting the rate alone left its old rate running on for 0.3 s from when it heard).
  const arrivalB = toB(nowA + 1020)
  const atB = commands(deliver(b, A, changed, arrivalB))
  const seek = atB[0]
  assert.ok(seek?.op === 'pause', JSON.stringify(atB))
  assert.deepEqual(atB.slice(1), [{ op: 'rate', rate: 1.25 }])
  const [wakeAt] = wakes(b.handle({ type: 'tick' }, arrivalB + 1))
  assert.ok(wakeAt !== undefined && wakeAt > arrivalB)
  assert.deepEqual(commands(b.handle({ type: 'tick' }, wakeAt)), [{ op: 'play' }])
  // It rests where A's new timeline is when B's player will run from there (`play` + its start latency).
  const runsAtA = wakeAt + b.playerStartLatencyMs - 123
  const expected = 2000 + LAG - 300 * 0.25 + (runsAtA - (nowA + 1000)) * 1.25
  assert.ok(Math.abs(seek.positionMs - expected) < 1e-6, `rests at ${seek.positionMs}, the timeline is at ${expected}`)
})

test('a viewer\'s speed change read while our start holds their player paused: published from where it rests, with no old rate running on', () => {
  const MPV_LIKE: PlayerAbilities = { ...WITH_RATE, rateTakesEffectMs: 300 }
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: MPV_LIKE, observed: obs(true, 1000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: MPV_LIKE, observed: obs(true, 1000, toB(nowA)) }, toB(nowA))
  // A seeks: B pauses and seeks for a start on the new timeline.
  const seeked = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 90_000, nowA + 100) } }, nowA + 100)
  const pause = commands(deliver(b, A, seeked, toB(nowA + 120)))[0]
  assert.ok(pause?.op === 'pause')
  // B's viewer sets 1.5x while the player rests there: it plays from that frame at 1.5x at once.
  const t = toB(nowA + 130)
  const changed = b.handle({ type: 'user', action: { kind: 'rate', observed: obs(false, pause.positionMs, t, FILM, 1.5) } }, t)
  assert.ok(commands(changed).some(c => c.op === 'play'), `the viewer was watching: ${JSON.stringify(commands(changed))}`)
  const state = b.snapshot(t).state
  assert.equal(state?.rate, 1.5)
  assert.equal(state?.playing, true)
  // Taken for a change made while playing, the timeline was put 300 ms x 0.5 behind the player.
  assert.ok(state !== null && state !== undefined && Math.abs(state.positionMs - pause.positionMs) < 1e-6, `published at ${state?.positionMs}, the player rests at ${pause.positionMs}`)
})

test('a state that wins while the viewer\'s own speed change still takes effect is landed by a start, not judged in step', () => {
  const MPV_LIKE: PlayerAbilities = { ...WITH_RATE, rateTakesEffectMs: 300 }
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: MPV_LIKE, observed: obs(true, 1000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: MPV_LIKE, observed: obs(true, 1000, toB(nowA)) }, toB(nowA))
  deliver(b, A, a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 1000, nowA) } }, nowA), toB(nowA))
  // B's viewer sets 1.25x; A hears of it, and A's viewer seeks 40 ms past where B's player will be.
  const t = nowA + 1000
  const changed = b.handle({ type: 'user', action: { kind: 'rate', observed: obs(true, 2000, toB(t), FILM, 1.25) } }, toB(t))
  deliver(a, B, changed, t + 10)
  const bAt = (ms: number): number => b.snapshot(toB(ms)).expectedPositionMs ?? 0
  const seekAt = t + 40
  const seeked = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, bAt(seekAt) + 40 - LAG * 1.25, seekAt, FILM, 1.25) } }, seekAt)
  // B's player runs on at 1x until ~300 ms after its change: from a reading at 1.25x it looks 80 ms
  // further on than it will be, so 40 ms ahead of A's timeline, "in step"; it is 40 ms behind.
  const atB = commands(deliver(b, A, seeked, toB(seekAt + 10)))
  assert.equal(b.snapshot(toB(seekAt + 10)).state?.stamp.nodeId, A)
  assert.ok(atB[0]?.op === 'pause', `a start on A's timeline: ${JSON.stringify(atB)}`)
})

test('concurrent actions resolve to the same winner on both sides', () => {
  const { a, b, nowA, toB } = pair(42)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, toB(nowA)) }, toB(nowA))
  const fromA = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 5100, nowA + 100) } }, nowA + 100)
  const fromB = b.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 90_000, toB(nowA + 100)) } }, toB(nowA + 100))
  const atB = deliver(b, A, fromA, toB(nowA + 120))
  deliver(a, B, fromB, nowA + 120)
  const sa = a.snapshot(nowA + 200).state
  const sb = b.snapshot(toB(nowA + 200)).state
  assert.deepEqual(sa?.stamp, sb?.stamp)
  assert.equal(sa?.stamp.nodeId, B, 'equal counters: the larger node id wins')
  assert.equal(sa?.positionMs, 90_000 + LAG)
  assert.deepEqual(commands(atB), [], 'B keeps its own (winning) action: A lost the tie')
})

test('a media mismatch is reported and the player is left alone', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA, OTHER) }, toB(nowA))
  const paused = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 5100, nowA + 100) } }, nowA + 100)
  const atB = deliver(b, A, paused, nowA + 120)
  assert.deepEqual(commands(atB), [])
  const notice = atB.find(x => x.type === 'notice' && x.notice.kind === 'media-mismatch')
  assert.ok(notice !== undefined)
  // Once B opens the same file, it follows.
  const later = b.handle({ type: 'player-status', observed: obs(true, 0, nowA + 2000) }, nowA + 2000)
  assert.deepEqual(commands(later), [{ op: 'pause', positionMs: 5100 }])
})

test('the leader sends its state to a newcomer, and re-announces periodically', () => {
  const { a, nowA } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA) }, nowA)
  const first = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 5000, nowA) } }, nowA)
  assert.equal(sent(first)[0]?.type, 'event')
  const up = a.handle({ type: 'peer-up', peer: C }, nowA + 10)
  assert.deepEqual(up.filter(x => x.type === 'send').map(x => x.type === 'send' && [x.to, x.msg.type]), [[C, 'announce']])
  const wake = wakes(up).at(-1) ?? wakes(first).at(-1)
  assert.equal(wake, nowA + ANNOUNCE_INTERVAL_MS)
  const tick = a.handle({ type: 'tick' }, nowA + ANNOUNCE_INTERVAL_MS)
  assert.deepEqual(sent(tick).map(m => m.type), ['announce'])
})

test('a newcomer without a state asks for it, and a peer answers', () => {
  const { a, nowA } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA) }, nowA)
  a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 5000, nowA) } }, nowA)
  const c = new SyncEngine({ nodeId: C })
  const up = c.handle({ type: 'peer-up', peer: A }, 0)
  assert.deepEqual(sent(up), [{ type: 'state-request' }])
  const reply = a.handle({ type: 'message', from: C, author: C, msg: { type: 'state-request' } }, nowA + 5)
  c.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 0, 10) }, 10)
  const applied = deliver(c, A, reply, 20)
  assert.deepEqual(commands(applied), [{ op: 'pause', positionMs: 5000 }])
})

test('hand-over: when the leader leaves, the others pick the same new leader and the timeline does not jump', () => {
  // Three nodes on one clock each: B = A + 1000, C = A - 2000.
  const engines = new Map([[A, new SyncEngine({ nodeId: A })], [B, new SyncEngine({ nodeId: B })], [C, new SyncEngine({ nodeId: C })]])
  const skew = new Map([[A, 0], [B, 1000], [C, -2000]])
  const at = (id: NodeId, tA: number) => tA + (skew.get(id) ?? 0)
  const engine = (id: NodeId) => engines.get(id) as SyncEngine
  for (const [x] of engines) {
    for (const [y] of engines) {
      if (x === y) continue
      engine(x).handle({ type: 'peer-up', peer: y }, at(x, 0))
      const d = (skew.get(y) ?? 0) - (skew.get(x) ?? 0)
      const t1 = at(x, 100)
      engine(x).handle({ type: 'clock-sample', peer: y, t1, t2: t1 + 5 + d, t3: t1 + 5.1 + d, t4: t1 + 10.1 }, t1 + 10.1)
    }
    engine(x).handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, at(x, 200)) }, at(x, 200))
  }
  // C (not the smallest id) starts playback; everyone adopts it.
  const played = engine(C).handle({ type: 'user', action: { kind: 'play', observed: obs(true, 10_000, at(C, 1000)) } }, at(C, 1000))
  deliver(engine(A), C, played, at(A, 1010))
  deliver(engine(B), C, played, at(B, 1010))
  for (const id of [A, B]) assert.deepEqual(commands(engine(id).handle({ type: 'tick' }, at(id, 2000))), [{ op: 'play' }])
  const before = [A, B].map(id => engine(id).snapshot(at(id, 5000)).expectedPositionMs)
  assert.deepEqual(before.map(v => Math.round(v ?? Number.NaN)), [14_000 + LAG, 14_000 + LAG])

  const downA = engine(A).handle({ type: 'peer-down', peer: C, reason: 'lost' }, at(A, 5000))
  const downB = engine(B).handle({ type: 'peer-down', peer: C, reason: 'lost' }, at(B, 5000))
  assert.equal(engine(A).snapshot(at(A, 5000)).leader, A)
  assert.equal(engine(B).snapshot(at(B, 5000)).leader, A)
  assert.equal(engine(A).snapshot(at(A, 5000)).state?.clock, A, 'the new leader holds the timeline on its clock')
  assert.ok(sent(downA).some(m => m.type === 'announce'), 'the new leader announces at once')
  assert.deepEqual(commands(downA), [])
  assert.deepEqual(commands(downB), [])
  const after = [A, B].map(id => engine(id).snapshot(at(id, 5000)).expectedPositionMs ?? Number.NaN)
  for (const [i, v] of after.entries()) assert.ok(Math.abs(v - (before[i] ?? 0)) < 0.5, `no jump: ${before[i]} -> ${v}`)
})

test('a burst of seeks is coalesced and ends with the final state', () => {
  const { a, nowA } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 0, nowA) }, nowA)
  const msgs: SyncMessage[] = []
  let wake: number | undefined
  for (let i = 0; i < 30; i++) {
    const t = nowA + i * 10
    if (wake !== undefined && t >= wake) { msgs.push(...sent(a.handle({ type: 'tick' }, wake))); wake = undefined }
    const out = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, i * 1000, t) } }, t)
    msgs.push(...sent(out))
    wake = wakes(out).at(-1) ?? wake
  }
  for (let t = nowA + 300; t < nowA + 600; t += 10) msgs.push(...sent(a.handle({ type: 'tick' }, t)))
  const events = msgs.filter(m => m.type === 'event')
  assert.ok(events.length <= Math.ceil(300 / EVENT_MIN_INTERVAL_MS) + 1, `${events.length} events for 30 seeks`)
  const last = events.at(-1)
  assert.ok(last?.type === 'event' && last.state.positionMs === 29_000 + LAG)
})

test('an event whose stamp is not its author\'s is rejected', () => {
  const { b, nowA } = pair(0)
  const forged: Input = {
    type: 'message', from: A, author: A,
    msg: { type: 'event', state: { media: FILM, playing: false, positionMs: 1, atMs: 0, rate: 1, stamp: { lamport: 9, nodeId: C } } }
  }
  const out = b.handle(forged, nowA)
  assert.ok(out.some(x => x.type === 'notice' && x.notice.kind === 'rejected'))
  assert.equal(b.snapshot(nowA).state, null)
})

test('a small steady drift is corrected by a gentle rate nudge, not a seek', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 0, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 30, toB(nowA)) }, toB(nowA))
  const played = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 0, nowA) } }, nowA)
  deliver(b, A, played, nowA + 20)
  // B runs 30 ms ahead of the timeline: readings every 100 ms.
  const cmds: PlayerCommand[] = []
  for (let t = nowA + 100; t < nowA + 4000; t += 100) {
    cmds.push(...commands(b.handle({ type: 'player-status', observed: obs(true, t - nowA + 30, t) }, t)))
  }
  assert.ok(cmds.length >= 1 && cmds.every(c => c.op === 'rate'), JSON.stringify(cmds))
  const first = cmds[0]
  assert.ok(first?.op === 'rate' && first.rate < 1 && first.rate >= 0.95)
})

test('a start is re-timed to the frame its seek landed on (players rest on frames)', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, toB(nowA)) }, toB(nowA))
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 30_000, nowA + 500) } }, nowA + 500)
  const atB = deliver(b, A, played, nowA + 520)
  const pause = commands(atB)[0]
  const [wakeAt] = wakes(atB)
  assert.ok(pause?.op === 'pause' && wakeAt !== undefined)
  // The daemon reads the player 50 ms later: the seek landed on the next frame, 25 ms further on.
  const landed = b.handle({ type: 'player-status', observed: obs(false, pause.positionMs + 25, nowA + 570) }, nowA + 570)
  assert.deepEqual(wakes(landed), [wakeAt + 25], 'play 25 ms later: when the timeline reaches that frame')
  // A reading far from the target is not this seek (it has not landed yet): the plan stands.
  const b2 = pair(0).b
  b2.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, nowA) }, nowA)
  const atB2 = deliver(b2, A, played, nowA + 520)
  assert.deepEqual(wakes(b2.handle({ type: 'player-status', observed: obs(false, 30_000, nowA + 570) }, nowA + 570)), [], 'no new wake')
  assert.equal(wakes(atB2)[0], wakeAt)
  // Mid-seek the player shows the target (mpv): no landing yet, the plan stands until one is read.
  const b3 = pair(0).b
  b3.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, nowA) }, nowA)
  const pause3 = commands(deliver(b3, A, played, nowA + 520))[0]
  assert.ok(pause3?.op === 'pause')
  const seeking = b3.handle({ type: 'player-status', observed: { ...obs(false, pause3.positionMs, nowA + 530), seeking: true } }, nowA + 530)
  assert.deepEqual(wakes(seeking), [], 'a target read mid-seek is no landing')
  const landed3 = b3.handle({ type: 'player-status', observed: obs(false, pause3.positionMs + 25, nowA + 540) }, nowA + 540)
  assert.deepEqual(wakes(landed3), [wakeAt + 25], 'the landing read after it re-times the start')
})

/** A and B paused at 1:00 on one clock; A's viewer presses play 1 s later: its event. */
function aPlaysAt60s (bAbilities = WITH_RATE) {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 60_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: bAbilities, observed: obs(false, 60_000, toB(nowA)) }, toB(nowA))
  const t0 = nowA + 1000
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 60_000, t0) } }, t0)
  const published = sent(played)[0]
  assert.ok(published?.type === 'event')
  return { a, b, toB, t0, played, published }
}

test('the author re-anchors its action from its own readings, with the same stamp; the others move along without a re-start', () => {
  const { a, b, toB, t0, played, published } = aPlaysAt60s()
  // A's player really runs 30 ms ahead of the reading it published from.
  const truthA = (t: number): number => 60_030 + (t - t0)
  const atB = deliver(b, A, played, t0 + 20)
  for (const tick of wakes(atB)) b.handle({ type: 'tick' }, tick)
  b.handle({ type: 'player-status', observed: obs(true, 60_000 + LAG + 200, toB(t0 + 220)) }, toB(t0 + 220))

  // A's readings (frame-floored, every 100 ms): within half a second it re-announces its own state.
  let reanchor: SyncMessage | undefined
  let at = 0
  for (let t = t0 + 50; t < t0 + 600 && reanchor === undefined; t += 100) {
    const out = a.handle({ type: 'player-status', observed: obs(true, Math.floor(truthA(t) / 40) * 40, t) }, t)
    assert.deepEqual(commands(out), [], 'the author leaves its own player alone')
    reanchor = sent(out).find(m => m.type === 'announce')
    at = t
  }
  assert.ok(reanchor?.type === 'announce', 'a re-anchor within half a second')
  assert.deepEqual(reanchor.state.stamp, published.state.stamp, 'the same action: the same stamp')
  const movedMs = (a.snapshot(at).expectedPositionMs ?? 0) - (published.state.positionMs + (at - published.state.atMs))
  assert.ok(Math.abs(movedMs - (30 - LAG)) <= 10, `the timeline moved ${movedMs.toFixed(1)} ms (the player was ${30 - LAG} ms further on)`)

  // B, playing on the old timeline, follows with one rate change held for a while: no pause, no seek.
  const before = b.snapshot(toB(at + 20)).expectedPositionMs ?? 0
  const followed = deliver(b, A, [{ type: 'broadcast', msg: reanchor }], toB(at + 20))
  assert.ok(Math.abs((b.snapshot(toB(at + 20)).expectedPositionMs ?? 0) - before - movedMs) < 1, 'B takes the new timeline')
  const cmds = commands(followed)
  assert.equal(cmds.length, 1, JSON.stringify(cmds))
  assert.ok(cmds[0]?.op === 'rate' && cmds[0].rate > 1, 'it speeds up to catch the timeline up')
  const [end] = wakes(followed)
  assert.ok(end !== undefined && end > toB(at + 20))
  assert.deepEqual(commands(b.handle({ type: 'tick' }, end)), [{ op: 'rate', rate: 1 }], 'and goes back to the state\'s rate')
})

/**
 * A viewer of a player the layer fits itself (VLC) resumes `times` times, each at a new place; the
 * player really runs `offMs` from the first reading after each resume. Its fitted estimates come
 * every 100 ms: the anchor (sure to half a step) for a second, then one edge a second, each halving
 * the band, the estimate at 0.9 of it, alternating sides edge by edge and resume by resume. Returns, per resume, how far the published
 * line was from the player, and whether a re-anchor ever took the line past the player or further
 * from it while the fit was unsure, or further than 10 ms from it once sure (the estimates are
 * within their uncertainty of the truth).
 */
function fittedResumes (times: number, offMs: number, fitted = true): { offsMs: number[], overshot: boolean, engine: SyncEngine } {
  const a = new SyncEngine({ nodeId: A })
  let now = 10_000
  a.handle({ type: 'player-attached', abilities: { ...WITH_RATE, nudgeable: false }, observed: obs(false, 60_000, now) }, now)
  const offsMs: number[] = []
  let overshot = false
  for (let k = 0; k < times; k++) {
    const fromMs = 60_000 + k * 20_000
    const t0 = now + 1000
    const truth = (t: number): number => fromMs + offMs + (t - t0)
    const played = a.handle({ type: 'user', action: { kind: 'play', observed: { ...obs(true, fromMs, t0), ...(fitted ? { uncertaintyMs: 500 } : {}) } } }, t0)
    const event = sent(played)[0]
    assert.ok(event?.type === 'event')
    offsMs.push(event.state.positionMs - truth(event.state.atMs))
    let lineOffMs = offsMs[offsMs.length - 1] ?? 0
    for (let t = t0 + 100; t <= t0 + 6000; t += 100) {
      const edges = Math.floor((t - t0) / 1000)
      const uncertaintyMs = edges === 0 ? 500 : 40 / 2 ** (edges - 1)
      const scatterMs = edges === 0 ? -offMs : ((edges + k) % 2 === 1 ? 0.9 : -0.9) * uncertaintyMs
      const reading = fitted ? { ...obs(true, truth(t) + scatterMs, t), uncertaintyMs } : obs(true, Math.floor(truth(t) / 40) * 40, t)
      const out = a.handle({ type: 'player-status', observed: reading }, t)
      for (const m of sent(out)) {
        if (m.type !== 'announce') continue
        const nowOffMs = m.state.positionMs - truth(m.state.atMs)
        // While unsure, only what is surely off is moved; once sure, onto the estimate (within 10 ms).
        if (uncertaintyMs > 10 ? Math.abs(nowOffMs) > Math.abs(lineOffMs) + 0.5 || nowOffMs * lineOffMs < -1 : Math.abs(nowOffMs) > 10.5) overshot = true
        lineOffMs = nowOffMs
      }
    }
    now = t0 + 6100
    a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, truth(now), now) } }, now)
  }
  return { offsMs, overshot, engine: a }
}

test('a fitted player\'s own resumes are re-anchored towards it as its fit narrows, never past it, and where they really landed is learnt for the next (VLC: ~28 ms behind)', () => {
  const { offsMs, overshot, engine } = fittedResumes(8, -3)
  assert.equal(overshot, false, 'a re-anchor took the line past the player, or further from it')
  // Published with the usual fresh-reading lag, the first is 23 ms ahead of the player; each sure
  // re-anchor teaches part of that.
  assert.ok(Math.abs((offsMs[0] ?? 0) - LAG - 3) < 1, `first resume ${offsMs[0]?.toFixed(1)} ms off`)
  // Each sure fit is itself up to 9 ms off, alternating: the learnt shift hovers within a few ms.
  assert.ok(offsMs.slice(-3).every(ms => Math.abs(ms) <= 8), `resumes off by ${offsMs.map(ms => ms.toFixed(1)).join(', ')} ms`)
  assert.ok(Math.abs(engine.learntPlayer.resumeShiftMs + LAG + 3) <= 6, `learnt ${engine.learntPlayer.resumeShiftMs.toFixed(1)} ms`)
  assert.equal(engine.learntPlayer.freshReadingLagMs, LAG, 'the envelope of fitted estimates teaches no lag')
  assert.equal(engine.learntPlayer.seekShiftMs, 0, 'no seek was made')
  // A player whose readings only lag (mpv) learns no such shift: its fresh-reading lag covers it.
  assert.equal(fittedResumes(4, -3, false).engine.learntPlayer.resumeShiftMs, 0)
})

/** A plays at 60 s; B pauses on the timeline and plays at its scheduled start (`wakeAt`). */
function bStartsOnA (bAbilities = WITH_RATE) {
  const { b, t0, played, published } = aPlaysAt60s(bAbilities)
  const atB = deliver(b, A, played, t0 + 20)
  const pause = commands(atB)[0]
  const [wakeAt] = wakes(atB)
  assert.ok(pause?.op === 'pause' && wakeAt !== undefined)
  b.handle({ type: 'player-status', observed: obs(false, pause.positionMs, t0 + 40) }, t0 + 40)
  assert.deepEqual(commands(b.handle({ type: 'tick' }, wakeAt)), [{ op: 'play' }])
  return { b, published, wakeAt }
}

test('a re-anchor followed by a move just before a start is judged: the move is not taken for what the start missed', () => {
  const { b, published, wakeAt } = bStartsOnA()
  const latencyMs = b.playerStartLatencyMs
  // B's start was perfect: it runs on the timeline. Its move (below) takes it along at its rate.
  const timeline = (t: number): number => published.state.positionMs + (t - published.state.atMs)
  let moveRate = 1
  let moveAtMs = Infinity
  const truthB = (t: number): number => timeline(t) + Math.max(0, t - moveAtMs) * (moveRate - 1)
  let t = wakeAt + 50
  for (; t < wakeAt + 1950; t += 100) b.handle({ type: 'player-status', observed: obs(true, Math.floor(truthB(t) / 40) * 40, t) }, t)
  // A's mature re-anchor, 25 ms on, comes just before B's track is mature: B follows by a move.
  const reanchorAt = t - 50
  const state = { ...published.state, positionMs: timeline(reanchorAt) + 25, atMs: reanchorAt }
  const followed = commands(b.handle({ type: 'message', from: A, author: A, msg: { type: 'announce', state, leader: A } }, reanchorAt))
  const move = followed[0]
  assert.ok(move?.op === 'rate' && move.rate > 1, JSON.stringify(followed))
  moveRate = move.rate
  moveAtMs = reanchorAt
  // The readings that make the track mature while the move is under way: the start is not judged
  // from them (it was on the timeline; the 25 ms are the move's to do).
  for (; t < reanchorAt + 300; t += 100) b.handle({ type: 'player-status', observed: obs(true, Math.floor(truthB(t) / 40) * 40, t) }, t)
  assert.equal(b.playerStartLatencyMs, latencyMs, 'the start latency is not changed by a move still under way')
})

test('a start played before its seek landed: the landing, read a frame past the target after the play went out, re-starts it at once', () => {
  const { b, t0, played } = aPlaysAt60s()
  const atB = deliver(b, A, played, t0 + 20)
  const pause = commands(atB)[0]
  const [wakeAt] = wakes(atB)
  assert.ok(pause?.op === 'pause' && pause.positionMs !== undefined && wakeAt !== undefined)
  // The seek is slow (a loaded machine): the play goes out before any reading showed the landing.
  assert.deepEqual(commands(b.handle({ type: 'tick' }, wakeAt)), [{ op: 'play' }])
  // It lands 34 ms past the target (the next frame), read paused: the play is queued behind it.
  const landedMs = pause.positionMs + 34
  const out = b.handle({ type: 'player-status', observed: obs(false, landedMs, wakeAt + 15) }, wakeAt + 15)
  const redo = commands(out)[0]
  assert.ok(redo?.op === 'pause', `re-started at once, not left to run 34 ms ahead: ${JSON.stringify(commands(out))}`)
  // Landing on the target itself (within START_REDO_MS) is no reason to re-start.
  const again = aPlaysAt60s()
  const atB2 = deliver(again.b, A, again.played, again.t0 + 20)
  const pause2 = commands(atB2)[0]
  const [wake2] = wakes(atB2)
  assert.ok(pause2?.op === 'pause' && wake2 !== undefined)
  again.b.handle({ type: 'tick' }, wake2)
  assert.deepEqual(commands(again.b.handle({ type: 'player-status', observed: obs(false, pause2.positionMs + 5, wake2 + 15) }, wake2 + 15)), [])
})

test('a start that missed by 45 ms is mended by a move from its first readings, a re-anchor\'s move follows, and the mature track still learns the start latency from the whole miss', () => {
  const { b, published, wakeAt } = bStartsOnA()
  const latencyMs = b.playerStartLatencyMs
  const timeline = (t: number): number => published.state.positionMs + (t - published.state.atMs)
  // B's start missed by 45 ms (its play landed late on a loaded machine): less than the start
  // check re-starts for. Each rate change jumps it RATE_JUMP_MS on.
  const missMs = -45
  const rates: Array<{ atMs: number, rate: number }> = []
  const truthB = (t: number): number => {
    let moved = 0
    for (const [k, r] of rates.entries()) {
      if (t < r.atMs) break
      const until = Math.min(t, rates[k + 1]?.atMs ?? t)
      moved += RATE_JUMP_MS + (until - r.atMs) * (r.rate - 1)
    }
    return timeline(t) + missMs + moved
  }
  const read = (t: number): Action[] => b.handle({ type: 'player-status', observed: obs(true, Math.floor(truthB(t) / 40) * 40, t) }, t)
  // Mended within its first readings (ROUGH_READINGS), not ~2 s on by the mature track.
  let t = wakeAt + 50
  let mend: Action[] = []
  for (; t < wakeAt + 700 && mend.length === 0; t += 100) mend = read(t).filter(a => a.type === 'player' || a.type === 'wake')
  const [mendRate] = commands(mend)
  const [mendEnd] = wakes(mend)
  assert.ok(mendRate?.op === 'rate' && mendRate.rate > 1 && mendEnd !== undefined, `a move catches the timeline up within 700 ms of the start: ${JSON.stringify(mend)}`)
  const byRateMs = (mendEnd - (t - 100)) * (mendRate.rate - 1)
  assert.ok(Math.abs(byRateMs + 2 * RATE_JUMP_MS + missMs) < 15, `the move makes up ${(byRateMs + 2 * RATE_JUMP_MS).toFixed(1)} ms (B is ${-missMs} ms behind; the readings judge it to a frame's phase)`)
  rates.push({ atMs: t - 100, rate: mendRate.rate })
  for (; t < mendEnd; t += 100) assert.deepEqual(commands(read(t)), [], `no other move while the mend is under way (at ${t - wakeAt} ms)`)
  assert.deepEqual(commands(b.handle({ type: 'tick' }, mendEnd)), [{ op: 'rate', rate: 1 }])
  rates.push({ atMs: mendEnd, rate: 1 })
  // A's re-anchor, 10 ms on, comes right after: B follows by a move, open loop.
  t = Math.max(t, mendEnd + 50)
  const reanchorAt = t - 50
  const state = { ...published.state, positionMs: timeline(reanchorAt) + 10, atMs: reanchorAt }
  const followed = b.handle({ type: 'message', from: A, author: A, msg: { type: 'announce', state, leader: A } }, reanchorAt)
  const move = commands(followed)[0]
  const [end] = wakes(followed)
  assert.ok(move?.op === 'rate' && move.rate > 1 && end !== undefined, `it follows by a move: ${JSON.stringify(commands(followed))}`)
  rates.push({ atMs: reanchorAt, rate: move.rate })
  for (; t < end; t += 100) read(t)
  assert.deepEqual(commands(b.handle({ type: 'tick' }, end)), [{ op: 'rate', rate: 1 }])
  rates.push({ atMs: end, rate: 1 })
  // Once the track is mature, it sees B on the timeline, and the start teaches its whole miss:
  // `play` comes ~0.8 x 45 ms sooner next time.
  for (; t < wakeAt + 4000; t += 100) read(t)
  const learntMs = b.playerStartLatencyMs - latencyMs
  assert.ok(Math.abs(learntMs - START_LATENCY_GAIN * -missMs) < 12, `the start latency learnt ${learntMs.toFixed(1)} ms (a miss of ${missMs} ms)`)
})

test('a follower that cannot be moved (VLC) stays put when the author re-anchors right after its start, and still learns its start latency from its own miss', () => {
  const { b, published, wakeAt } = bStartsOnA({ ...WITH_RATE, nudgeable: false })
  const latencyMs = b.playerStartLatencyMs
  // B's start landed 25 ms behind: under its re-sync bar, so only learning mends it.
  const missMs = -25
  let timelineMs = (t: number): number => published.state.positionMs + (t - published.state.atMs)
  const truthB = (t: number): number => published.state.positionMs + (t - published.state.atMs) + missMs
  let t = wakeAt + 50
  for (; t < wakeAt + 500; t += 100) b.handle({ type: 'player-status', observed: obs(true, Math.floor(truthB(t) / 40) * 40, t) }, t)
  // A's re-anchor, 10 ms on: B cannot follow by a move, and stays where it is.
  const state = { ...published.state, positionMs: timelineMs(t) + 10, atMs: t }
  const followed = b.handle({ type: 'message', from: A, author: A, msg: { type: 'announce', state, leader: A } }, t)
  assert.deepEqual(commands(followed), [], 'no move for a player that cannot be moved')
  timelineMs = tt => state.positionMs + (tt - state.atMs)
  for (t += 100; t < wakeAt + 4000; t += 100) b.handle({ type: 'player-status', observed: obs(true, Math.floor(truthB(t) / 40) * 40, t) }, t)
  // Its mature track sees it 35 ms behind the moved timeline; 10 of them were the re-anchor's.
  const learntMs = b.playerStartLatencyMs - latencyMs
  assert.ok(Math.abs(learntMs - START_LATENCY_GAIN * -missMs) < 8, `the start latency learnt ${learntMs.toFixed(1)} ms (a miss of ${missMs} ms, the timeline moved 10 ms after it)`)
})

test('a re-anchor reaching a player only judged in step roughly (not put on the timeline by a start) moves it by what its readings show, not along open loop', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 60_000, nowA) }, nowA)
  // B plays on its own, exactly on frames (its readings lag nothing): at 61.000 s one second on.
  const truthB = (t: number): number => 60_000 + (t - nowA)
  const readB = (t: number): PlayerObservation => obs(true, Math.floor(truthB(t) / 40) * 40, toB(t))
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: readB(nowA) }, toB(nowA))
  const t0 = nowA + 1000
  b.handle({ type: 'player-status', observed: readB(t0 - 10) }, toB(t0 - 10))
  // A's viewer seeks to just ahead of where B is: the room's timeline runs 30 ms ahead of B.
  const seeked = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, truthB(t0) + 30 - LAG, t0) } }, t0)
  const published = sent(seeked)[0]
  assert.ok(published?.type === 'event')
  const timeline = (t: number): number => published.state.positionMs + (t - published.state.atMs)
  assert.ok(Math.abs(timeline(t0 + 20) - truthB(t0 + 20) - 30) < 1e-6)
  assert.deepEqual(commands(deliver(b, A, seeked, toB(t0 + 20))), [], 'B is judged in step (from one reading, a fresh lag guessed): no re-start')
  let t = t0 + 100
  for (; t < t0 + 500; t += 100) assert.deepEqual(commands(b.handle({ type: 'player-status', observed: readB(t) }, toB(t))), [], `at ${t - t0} ms`)
  // A's re-anchor puts the timeline 10 ms back: B is still 20 ms behind it. Moved along open loop
  // (slowed by 10 ms) it would stay 30 ms behind.
  const reanchorAt = t
  const state = { ...published.state, positionMs: timeline(reanchorAt) - 10, atMs: reanchorAt }
  const followed = b.handle({ type: 'message', from: A, author: A, msg: { type: 'announce', state, leader: A } }, toB(reanchorAt))
  const move = commands(followed)[0]
  const [end] = wakes(followed)
  assert.ok(move?.op === 'rate' && move.rate > 1 && end !== undefined, `it speeds up to catch the timeline up: ${JSON.stringify(commands(followed))}`)
  const byRateMs = (end - toB(reanchorAt)) * (move.rate - 1)
  assert.ok(byRateMs > 20 - 15 && byRateMs < 20 + 15, `the move makes up ${byRateMs.toFixed(1)} ms by rate (B is 20 ms behind; the readings judge it to a frame's phase)`)
})

test('a re-anchor never overrides a newer action of someone else', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 60_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 60_000, toB(nowA)) }, toB(nowA))
  const t0 = nowA + 1000
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 60_000, t0) } }, t0)
  deliver(b, A, played, t0 + 20)
  // B pauses; A re-anchors its (older) play before hearing of it.
  const paused = b.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 60_300, toB(t0 + 300)) } }, toB(t0 + 300))
  let reanchor: Action[] = []
  for (let t = t0 + 50; t < t0 + 1000 && reanchor.length === 0; t += 100) {
    reanchor = a.handle({ type: 'player-status', observed: obs(true, Math.floor((60_030 + t - t0) / 40) * 40, t) }, t).filter(x => x.type === 'broadcast')
  }
  assert.equal(reanchor.length, 1)
  const atB = deliver(b, A, reanchor, toB(t0 + 700))
  assert.deepEqual(commands(atB), [])
  assert.equal(b.snapshot(toB(t0 + 700)).state?.playing, false, 'B stays paused')
  deliver(a, B, paused, t0 + 720)
  assert.equal(a.snapshot(t0 + 720).state?.playing, false, 'and so does A once it hears of the pause')
})

test('drift is mended by one move (a rate change held for a computed time, then back), not a stream of rate changes', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 0, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 30, toB(nowA)) }, toB(nowA))
  const played = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 0, nowA) } }, nowA)
  deliver(b, A, played, nowA + 20)
  const expected = (t: number): number => b.snapshot(t).expectedPositionMs ?? 0
  // B runs 24 ms ahead and does not drift: it is to move back by 24 ms, net of two rate-change jumps.
  let offsetMs = 24
  let rate = 1
  let lastT = nowA + 100
  const cmds: PlayerCommand[] = []
  let wake: number | undefined
  // Readings every 93 ms: they fall on every phase of a 40 ms frame.
  for (let t = nowA + 100; t < nowA + 6000; t += 93) {
    // The player's true position: the timeline plus whatever the rate changes did.
    offsetMs += (t - lastT) * (rate - 1)
    lastT = t
    if (wake !== undefined && wake <= t) {
      const out = b.handle({ type: 'tick' }, wake)
      // The change took effect at the wake, not at t: the time since ran at the new rate.
      for (const c of commands(out)) { if (c.op === 'rate') { offsetMs += (t - wake) * (c.rate - rate) + RATE_JUMP_MS; rate = c.rate } cmds.push(c) }
      wake = wakes(out).at(-1)
    }
    const out = b.handle({ type: 'player-status', observed: obs(true, Math.floor((expected(t) + offsetMs) / 40) * 40, t, FILM, rate) }, t)
    for (const c of commands(out)) { if (c.op === 'rate') { offsetMs += RATE_JUMP_MS; rate = c.rate } cmds.push(c) }
    wake = wakes(out).at(-1) ?? wake
  }
  assert.ok(cmds.every(c => c.op === 'rate'), JSON.stringify(cmds))
  assert.equal(cmds.length, 2, `one move: ${JSON.stringify(cmds)}`)
  assert.ok(cmds[0]?.op === 'rate' && cmds[0].rate < 1 && cmds[0].rate >= 0.95)
  assert.deepEqual(cmds[1], { op: 'rate', rate: 1 })
  assert.ok(Math.abs(offsetMs) < NUDGE_START_MS, `${offsetMs.toFixed(1)} ms off after the move: another would be needed`)
})

test('a peer back as a new process: what it says on its new clock waits for a clock sample, the timeline does not jump', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 10_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 10_000, toB(nowA)) }, toB(nowA))
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 10_000, nowA + 100) } }, nowA + 100)
  const event = sent(played)[0]
  assert.ok(event?.type === 'event')
  deliver(b, A, played, toB(nowA + 120))
  const t1 = nowA + 3000
  const expectedBefore = b.snapshot(t1).expectedPositionMs ?? 0
  b.handle({ type: 'peer-down', peer: A, reason: 'lost' }, t1)
  // A comes back as a new process: its clock now reads ours + 50 s. It announces the state there.
  const NEW_OFFSET = 50_000
  b.handle({ type: 'peer-up', peer: A }, t1 + 500)
  const onNewClock = { ...event.state, atMs: event.state.atMs + NEW_OFFSET }
  b.handle({ type: 'message', from: A, author: A, msg: { type: 'announce', state: onNewClock, leader: A } }, t1 + 510)
  assert.ok(Math.abs((b.snapshot(t1 + 510).expectedPositionMs ?? 0) - (expectedBefore + 510)) < 1, 'not converted with the old offset')
  // The first sample shows the new clock; from then on A's clock is read right.
  const s = t1 + 520
  b.handle({ type: 'clock-sample', peer: A, t1: s, t2: s + 20 + NEW_OFFSET, t3: s + 20.1 + NEW_OFFSET, t4: s + 40.1 }, s + 40.1)
  b.handle({ type: 'message', from: A, author: A, msg: { type: 'announce', state: onNewClock, leader: A } }, t1 + 600)
  assert.ok(Math.abs((b.snapshot(t1 + 600).expectedPositionMs ?? 0) - (expectedBefore + 600)) < 1, 'the same instant on the new clock')
})

test('track change: the author holds a playing room for a viewer who lacks the file, resumes together once it has it', () => {
  const { a, b, nowA, toB } = pair(0)
  let t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, toB(t)) }, toB(t))
  // A opens OTHER (paused); B's player still shows FILM: B says it lacks OTHER.
  const opened = a.handle({ type: 'user', action: { kind: 'media', observed: obs(false, 0, t, OTHER) } }, t)
  const atB = deliver(b, A, opened, toB(t + 20))
  assert.ok(atB.some(x => x.type === 'notice' && x.notice.kind === 'media-mismatch'))
  assert.deepEqual(sent(atB).filter(m => m.type === 'media-wait'), [{ type: 'media-wait', mediaId: OTHER.id, ready: false }])
  deliver(a, B, atB, t + 40)

  // A presses play: the room is held for B (A's player paused again, a pause event sent).
  t += 1000
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 0, t, OTHER) } }, t)
  const waiting = played.flatMap(x => x.type === 'notice' && x.notice.kind === 'waiting' ? [x.notice] : [])
  assert.equal(waiting.length, 1)
  assert.deepEqual(waiting[0]?.peers, [B])
  assert.ok(commands(played).some(c => c.op === 'pause'), 'the author\'s own player waits too')
  const lastEvent = sent(played).filter(m => m.type === 'event').at(-1)
  assert.ok(lastEvent?.type === 'event' && !lastEvent.state.playing, 'the room is told to wait paused')

  // B opens OTHER: it says so, and A resumes everyone on a shared start ahead.
  t += 2000
  const ready = b.handle({ type: 'player-status', observed: obs(false, 0, toB(t), OTHER) }, toB(t))
  assert.deepEqual(sent(ready).filter(m => m.type === 'media-wait'), [{ type: 'media-wait', mediaId: OTHER.id, ready: true }])
  const resumed = deliver(a, B, ready, t + 20)
  assert.ok(resumed.some(x => x.type === 'notice' && x.notice.kind === 'wait-over' && !x.notice.timedOut))
  const resume = sent(resumed).find(m => m.type === 'event')
  assert.ok(resume?.type === 'event' && resume.state.playing && resume.state.atMs > t + 20, 'a shared start in the future')
})

test('track change: the wait is bounded, and held only once per file', () => {
  const { a, b, nowA, toB } = pair(0)
  let t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, toB(t)) }, toB(t))
  deliver(a, B, deliver(b, A, a.handle({ type: 'user', action: { kind: 'media', observed: obs(false, 0, t, OTHER) } }, t), toB(t + 20)), t + 40)
  t += 1000
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 0, t, OTHER) } }, t)
  const until = played.flatMap(x => x.type === 'notice' && x.notice.kind === 'waiting' ? [x.notice.untilMs] : [])[0]
  assert.ok(until !== undefined && until > t && until <= t + 60_000, 'a bounded wait')
  // Follow the engine's own wakes (announces come due first): one of them is the end of the wait.
  let now = t + 1
  let asked = false
  for (let i = 0; i < 100 && !asked; i++) {
    const next = wakes(a.handle({ type: 'tick' }, now))
    asked = next.includes(until)
    now = Math.min(...next, until)
  }
  assert.ok(asked, 'the engine asks to be woken when the wait runs out')
  const over = a.handle({ type: 'tick' }, until)
  assert.ok(over.some(x => x.type === 'notice' && x.notice.kind === 'wait-over' && x.notice.timedOut && x.notice.peers.includes(B)))
  assert.ok(sent(over).some(m => m.type === 'event' && m.state.playing), 'the room resumes without B')
  // B still lacks it: pausing and playing again does not hold a second time for the same file.
  const again = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 5000, until + 5000, OTHER) } }, until + 5000)
  assert.ok(!again.some(x => x.type === 'notice' && x.notice.kind === 'waiting'))
})

test('a player restarted under the author of a playing room catches up with the room instead of sending it to 0:00', () => {
  const { a, b, nowA, toB } = pair(0)
  let t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, t) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, toB(t)) }, toB(t))
  deliver(b, A, a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 30_000, t) } }, t), toB(t + 20))
  const room = a.snapshot(t).state
  assert.ok(room !== null && room.stamp.nodeId === A && room.playing)

  // A's player crashes; a new one comes up empty, then opens the room's file at 0:00, paused.
  t += 5000
  a.handle({ type: 'player-detached' }, t)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t, null) }, t)
  t += 300
  const loaded = a.handle({ type: 'user', action: { kind: 'media', observed: obs(false, 0, t) } }, t)
  assert.deepEqual(a.snapshot(t).state?.stamp, room.stamp, 'no new event: the room keeps its timeline')
  assert.equal(sent(loaded).filter(m => m.type === 'event').length, 0, 'nothing sent to the others')
  // Held at the room's position, to start with it at a scheduled instant.
  const cmds = commands(loaded)
  const held = cmds.find(c => c.op === 'pause' || c.op === 'seek')
  assert.ok(held !== undefined && 'positionMs' in held && held.positionMs > 30_000 + 5000, `the player is taken to the room's position: ${JSON.stringify(cmds)}`)
  const start = wakes(loaded).at(-1)
  assert.ok(start !== undefined && start > t, 'a start is scheduled')
  assert.ok(commands(a.handle({ type: 'tick' }, start)).some(c => c.op === 'play'), 'and the player started then')
  assert.equal(b.snapshot(toB(t)).state?.playing, true, 'B never stopped')
})

test('track change: a viewer still lacking the file tells a peer that comes (back) up, so a restarted author can wait for it', () => {
  const { a, b, nowA, toB } = pair(0)
  const t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, toB(t)) }, toB(t))
  deliver(b, A, a.handle({ type: 'user', action: { kind: 'media', observed: obs(false, 0, t, OTHER) } }, t), toB(t + 20))
  // A's daemon restarts: B sees it leave and come back, and says again what it lacks.
  b.handle({ type: 'peer-down', peer: A, reason: 'lost' }, toB(t + 1000))
  const up = b.handle({ type: 'peer-up', peer: A }, toB(t + 3000))
  const told = up.flatMap(x => x.type === 'send' && x.to === A && x.msg.type === 'media-wait' ? [x.msg] : [])
  assert.deepEqual(told, [{ type: 'media-wait', mediaId: OTHER.id, ready: false }])
  // Once B has the file, a peer coming up hears nothing of it.
  b.handle({ type: 'player-status', observed: obs(false, 0, toB(t + 4000), OTHER) }, toB(t + 4000))
  b.handle({ type: 'peer-down', peer: A, reason: 'lost' }, toB(t + 5000))
  const again = b.handle({ type: 'peer-up', peer: A }, toB(t + 6000))
  assert.ok(!again.some(x => x.type === 'send' && x.msg.type === 'media-wait'))
})

/**
 * Engines on some links only, each on its own clock (`skew`: its reading minus A's at the same
 * instant). Messages arrive at once, through the codec; broadcasts are flooded and relayed, as the
 * mesh does, so nodes without a link still hear each other. Times are A's clock.
 */
function mesh (skews: Array<[NodeId, number]>, links: Array<[NodeId, NodeId]>) {
  const skew = new Map(skews)
  const engines = new Map(skews.map(([id]) => [id, new SyncEngine({ nodeId: id })]))
  const linked = (x: NodeId, y: NodeId): boolean => links.some(([p, q]) => (p === x && q === y) || (p === y && q === x))
  const at = (id: NodeId, tA: number): number => tA + (skew.get(id) ?? 0)
  const engine = (id: NodeId): SyncEngine => engines.get(id) as SyncEngine
  const feed = (id: NodeId, input: Input, tA: number): Action[] => {
    const out = engine(id).handle(input, at(id, tA))
    for (const a of out) {
      if (a.type === 'send' && linked(id, a.to)) deliverOne(a.to, id, id, a.msg, tA)
      if (a.type === 'broadcast') flood(id, id, a.msg, tA, new Set([id]))
    }
    return out
  }
  const deliverOne = (to: NodeId, from: NodeId, author: NodeId, msg: SyncMessage, tA: number): void => {
    feed(to, { type: 'message', from, author, msg: decodeSyncMessage(encodeSyncMessage(msg)) }, tA)
  }
  const flood = (author: NodeId, via: NodeId, msg: SyncMessage, tA: number, seen: Set<NodeId>): void => {
    for (const to of engines.keys()) {
      if (seen.has(to) || !linked(via, to)) continue
      seen.add(to)
      deliverOne(to, via, author, msg, tA)
      flood(author, to, msg, tA, seen)
    }
  }
  /** One probe from x to y over a 10 ms path each way; x is told at tA + 20.1. */
  const probe = (x: NodeId, y: NodeId, tA: number): void => {
    const t2 = at(y, tA + 10)
    feed(x, { type: 'clock-sample', peer: y, t1: at(x, tA), t2, t3: t2 + 0.1, t4: at(x, tA + 20.1) }, tA + 20.1)
  }
  /** A new process for `id`: a fresh engine on a clock that now reads A's + `newSkew`. */
  const restart = (id: NodeId, newSkew: number): void => {
    engines.set(id, new SyncEngine({ nodeId: id }))
    skew.set(id, newSkew)
  }
  return { engine, feed, probe, restart, at }
}

test('a restarted node reached only through a neighbour: what it says on its new clock is not read with its old offset', () => {
  // A - B - C: A and C have no link, so A knows C's clock only from B's `offsets`.
  const OLD_SKEW = -2000
  const NEW_SKEW = 50_000
  const m = mesh([[A, 0], [B, 1000], [C, OLD_SKEW]], [[A, B], [B, C]])
  for (const [x, y] of [[A, B], [B, C]] as const) {
    m.feed(x, { type: 'peer-up', peer: y }, 0)
    m.feed(y, { type: 'peer-up', peer: x }, 0)
    for (let k = 0; k < 3; k++) {
      m.probe(x, y, 100 + k * 1000)
      m.probe(y, x, 100 + k * 1000)
    }
  }
  for (const id of [A, B, C]) m.feed(id, { type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 10_000, m.at(id, 3000)) }, 3000)
  // C plays; A learns C's clock through B's report.
  m.feed(C, { type: 'user', action: { kind: 'play', observed: obs(true, 10_000, m.at(C, 4000)) } }, 4000)
  m.feed(A, { type: 'tick' }, 4100)
  const timeline = (tA: number): number => 10_000 + LAG + (tA - 4000)
  const expectedAtA = (tA: number): number => m.engine(A).snapshot(tA).expectedPositionMs ?? Number.NaN
  const composed = m.engine(A).snapshot(4100).peers.find(p => p.peer === C)
  assert.ok(composed?.direct === false && Math.abs((composed.offsetMs ?? Number.NaN) - OLD_SKEW) < 1, `A reads C's clock through B: ${composed?.offsetMs}`)
  assert.ok(Math.abs(expectedAtA(4100) - timeline(4100)) < 1)

  // C's process restarts: B sees it go, then come back on a clock that began again.
  m.feed(B, { type: 'peer-down', peer: C, reason: 'lost' }, 8000)
  m.restart(C, NEW_SKEW)
  m.feed(C, { type: 'player-attached', abilities: WITH_RATE, observed: obs(true, timeline(10_000), m.at(C, 10_000)) }, 10_000)
  m.feed(B, { type: 'peer-up', peer: C }, 10_000)
  m.feed(C, { type: 'peer-up', peer: B }, 10_000)
  m.probe(C, B, 10_000)
  m.probe(B, C, 10_000)
  // The new C leads its own action again and announces it on its new clock; B relays it to A.
  m.feed(C, { type: 'tick' }, 12_100)
  assert.equal(m.engine(C).snapshot(m.at(C, 12_100)).state?.clock, C)
  for (const tA of [12_100, 13_000]) {
    assert.ok(Math.abs(expectedAtA(tA) - timeline(tA)) < 1, `at ${tA}: A expects ${expectedAtA(tA).toFixed(0)}, the timeline is at ${timeline(tA)}`)
  }
})

test('a neighbour that stops reporting a node voids what others reported of it earlier (it may have restarted)', () => {
  // A reaches C through B (100 ms round trip) and through D (20 ms, preferred); C has restarted
  // and B has seen it (its entry goes, then comes back with the new clock); D has not yet.
  const D: NodeId = 'dd'.repeat(32)
  const a = new SyncEngine({ nodeId: A })
  const skew = new Map([[B, 1000], [D, 3000]])
  for (const [peer, oneWayMs] of [[B, 50], [D, 10]] as const) {
    const d = skew.get(peer) ?? 0
    a.handle({ type: 'peer-up', peer }, 0)
    a.handle({ type: 'clock-sample', peer, t1: 100, t2: 100 + oneWayMs + d, t3: 100.1 + oneWayMs + d, t4: 100.1 + 2 * oneWayMs }, 100.1 + 2 * oneWayMs)
  }
  const report = (from: NodeId, entries: Array<{ peer: NodeId, offsetMs: number, rttMs: number }>, tA: number): void => {
    a.handle({ type: 'message', from, author: from, msg: { type: 'offsets', entries } }, tA)
  }
  // C's clock reads A's - 2000: B and D report it so.
  report(B, [{ peer: C, offsetMs: -3000, rttMs: 20 }], 1000)
  report(D, [{ peer: C, offsetMs: -5000, rttMs: 20 }], 1000)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 10_000, 1000) }, 1000)
  const play = { media: FILM, playing: true, positionMs: 10_000, atMs: 2000 - 2000, rate: 1, stamp: { lamport: 1, nodeId: C } }
  a.handle({ type: 'message', from: B, author: C, msg: { type: 'event', state: play } }, 2000)
  assert.equal(a.snapshot(2000).expectedPositionMs, 10_000)

  // C restarts; its clock now reads A's + 50 000. B loses it, then measures it anew; D still has the old.
  report(B, [], 5000)
  report(B, [{ peer: C, offsetMs: 49_000, rttMs: 20 }], 7000)
  const onNewClock = { ...play, atMs: 2000 + 50_000 }
  a.handle({ type: 'message', from: B, author: C, msg: { type: 'announce', state: onNewClock, leader: C } }, 7100)
  assert.ok(Math.abs((a.snapshot(7100).expectedPositionMs ?? Number.NaN) - 15_100) < 1, `read through B's new report: ${a.snapshot(7100).expectedPositionMs}`)
})

test('copies named differently with the same length are one film: followed, said once, and the room keeps its name', () => {
  const { a, b, nowA, toB } = pair(0)
  const THEIRS: Media = { id: 'Film.2019.1080p.mkv', name: 'Film.2019.1080p.mkv', lengthMs: FILM.lengthMs }
  const OURS: Media = { ...FILM, lengthMs: (FILM.lengthMs ?? 0) + 400 } // another rip, a few frames longer
  let t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t, THEIRS) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, toB(t), OURS) }, toB(t))
  const atB = deliver(b, A, a.handle({ type: 'user', action: { kind: 'seek', observed: obs(false, 60_000, t, THEIRS) } }, t), toB(t + 20))
  assert.ok(!atB.some(x => x.type === 'notice' && x.notice.kind === 'media-mismatch'))
  assert.ok(!sent(atB).some(m => m.type === 'media-wait'), 'B does not say it lacks the film')
  assert.deepEqual(atB.flatMap(x => x.type === 'notice' && x.notice.kind === 'media-alias' ? [[x.notice.theirs.name, x.notice.ours.name]] : []), [['Film.2019.1080p.mkv', FILM.name]])
  assert.ok(commands(atB).some(c => c.op !== 'play' && c.op !== 'rate' && c.positionMs === 60_000), `B is driven: ${JSON.stringify(commands(atB))}`)
  // B presses play: the room's film keeps A's name, so A sees no track change.
  t += 2000
  const played = b.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 60_000, toB(t), OURS) } }, toB(t))
  const event = sent(played).find(m => m.type === 'event')
  assert.ok(event?.type === 'event' && event.state.media?.id === THEIRS.id, JSON.stringify(event))
  const atA = deliver(a, B, played, t + 20)
  assert.deepEqual(atA.flatMap(x => x.type === 'notice' && x.notice.kind === 'remote-action' ? [x.notice.action] : []), ['play'])
})

test('a track change to an episode of the same length is still a track change for those on the old one', () => {
  const { a, b, nowA, toB } = pair(0)
  // Names that are no numbered pattern (those are told apart by name alone, see media.ts).
  const EP1: Media = { id: 'pilot.mkv', name: 'pilot.mkv', lengthMs: 1_420_000 }
  const EP2: Media = { id: 'homecoming.mkv', name: 'homecoming.mkv', lengthMs: 1_420_000 }
  let t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t, EP1) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, toB(t), EP1) }, toB(t))
  deliver(a, B, deliver(b, A, a.handle({ type: 'user', action: { kind: 'seek', observed: obs(false, 1000, t, EP1) } }, t), toB(t + 20)), t + 40)
  t += 1000
  const switched = a.handle({ type: 'user', action: { kind: 'media', observed: obs(false, 0, t, EP2) } }, t)
  assert.equal(a.snapshot(t).state?.media?.id, EP2.id, 'A\'s own switch is a new state, not catching up')
  const atB = deliver(b, A, switched, toB(t + 20))
  assert.ok(atB.some(x => x.type === 'notice' && x.notice.kind === 'media-mismatch'), 'B is told to open ep02')
  assert.deepEqual(sent(atB).filter(m => m.type === 'media-wait'), [{ type: 'media-wait', mediaId: EP2.id, ready: false }])
})

test('a room nobody acted in yet: a newcomer lands where the viewer already watching is', () => {
  // The timer: a second after a first peer comes up with no state, a playing player becomes the timeline.
  const solo = new SyncEngine({ nodeId: A })
  solo.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 600_000, 0) }, 0)
  const up = solo.handle({ type: 'peer-up', peer: B }, 100)
  assert.ok(!sent(up).some(m => m.type === 'event'), 'not at once: a room with a state answers first')
  const due = wakes(up).at(-1)
  assert.equal(due, 100 + ADOPT_PLAYING_AFTER_MS)
  const own = solo.handle({ type: 'tick' }, due)
  const first = sent(own).find(m => m.type === 'event')
  assert.ok(first?.type === 'event' && first.state.playing && first.state.positionMs >= 600_000, JSON.stringify(first))
  assert.deepEqual(commands(own).filter(c => c.op === 'seek' || c.op === 'pause'), [], 'its own player is left as it is')

  // The newcomer follows it (B reconnects to A, who is watching).
  const { a, b, nowA, toB } = pair(0)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, toB(nowA)) }, toB(nowA))
  // A's player attached playing with B up already, or B comes up: either starts the timer.
  const attached = a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 600_000, nowA) }, nowA)
  const at = wakes([...attached, ...a.handle({ type: 'peer-up', peer: B }, nowA)]).at(-1) ?? NaN
  const adopted = a.handle({ type: 'tick' }, at)
  assert.ok(sent(adopted).some(m => m.type === 'event'))
  const atB = deliver(b, A, adopted, toB(at + 20))
  const held = commands(atB).find(c => c.op !== 'play' && c.op !== 'rate')
  assert.ok(held !== undefined && 'positionMs' in held && held.positionMs > 600_000, `B goes to A's position: ${JSON.stringify(commands(atB))}`)
})

test('a playing viewer does not make a timeline when the room already has one', () => {
  const { a, b, nowA, toB } = pair(0)
  const t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, t) }, t)
  a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 30_000, t) } }, t)
  // B's daemon restarted while its player played on.
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 31_000, toB(t)) }, toB(t))
  const upB = b.handle({ type: 'peer-up', peer: A }, toB(t + 100))
  deliver(b, A, deliver(a, B, upB, t + 120), toB(t + 140))
  assert.equal(b.snapshot(toB(t + 140)).state?.playing, false, 'B has the room\'s state')
  const later = b.handle({ type: 'tick' }, toB(t + 100 + ADOPT_PLAYING_AFTER_MS + 10))
  assert.ok(!sent(later).some(m => m.type === 'event'), 'and makes no timeline of its own')
})

test('a file named before its length was known: the state takes the length later, and a copy with another name then matches it', () => {
  const { a, b, nowA, toB } = pair(0)
  // mpv over IPC names the new file at once and knows its length only once it is open.
  const EP3_UNMEASURED: Media = { id: 'episode-3.mkv', name: 'episode-3.mkv', lengthMs: null }
  const EP3: Media = { ...EP3_UNMEASURED, lengthMs: 1_320_000 }
  const COPY: Media = { id: 'My Show - third one [720p].mkv', name: 'My Show - third one [720p].mkv', lengthMs: 1_320_040 }
  let t = nowA
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, t, FILM) }, t)
  // B's copy is open ten minutes in: following the room means a start at the room's position.
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 600_000, toB(t), COPY) }, toB(t))
  const moved = a.handle({ type: 'user', action: { kind: 'media', observed: obs(true, 0, t, EP3_UNMEASURED) } }, t)
  const atB = deliver(b, A, moved, toB(t + 20))
  assert.ok(atB.some(x => x.type === 'notice' && x.notice.kind === 'media-mismatch'), 'without a length, B cannot tell yet')
  assert.deepEqual(commands(atB), [], 'B is not driven onto another film')

  // A's player now knows the length: A's state takes it; A's next announce carries it to B.
  t += 50
  a.handle({ type: 'player-status', observed: obs(true, 50, t, EP3) }, t)
  assert.equal(a.snapshot(t).state?.media?.lengthMs, 1_320_000, 'the author\'s state learnt the length')
  let announced: Action[] = []
  for (let tick = t; tick < t + 5000 && !sent(announced).some(m => m.type === 'announce'); tick += 100) {
    announced = a.handle({ type: 'tick' }, tick)
    t = tick
  }
  assert.ok(sent(announced).some(m => m.type === 'announce'), 'the leader re-announces within a few seconds')
  const later = deliver(b, A, announced, toB(t + 20))
  assert.equal(b.snapshot(toB(t + 20)).state?.media?.lengthMs, 1_320_000, 'B took the length of the same event')
  assert.deepEqual(later.flatMap(x => x.type === 'notice' && x.notice.kind === 'media-alias' ? [[x.notice.theirs.name, x.notice.ours.name]] : []), [['episode-3.mkv', COPY.name]])
  assert.ok(commands(later).some(c => c.op === 'pause' && c.positionMs < 10_000), `B is now driven on its copy: ${JSON.stringify(commands(later))}`)
  assert.equal(b.snapshot(toB(t + 20)).state?.media?.id, 'episode-3.mkv', 'the room keeps its name for the film')
})

test('output delay: a viewer who hears late has its player started that far ahead; its own actions are told on the room\'s timeline', () => {
  const OUTPUT_DELAY_MS = 200
  const a = new SyncEngine({ nodeId: A })
  const plain = new SyncEngine({ nodeId: B })
  const delayed = new SyncEngine({ nodeId: C, outputDelayMs: OUTPUT_DELAY_MS })
  const t0 = 10_000
  for (const e of [plain, delayed]) {
    e.handle({ type: 'peer-up', peer: A }, t0)
    a.handle({ type: 'peer-up', peer: e.nodeId }, t0)
    // Same clocks, 20 ms each way.
    for (let i = 0; i < 3; i++) {
      const s = t0 + i * 1000
      e.handle({ type: 'clock-sample', peer: A, t1: s, t2: s + 20, t3: s + 20.1, t4: s + 40.1 }, s + 40.1)
    }
    e.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, t0 + 3000) }, t0 + 3000)
  }
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, t0 + 3000) }, t0 + 3000)
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 30_000, t0 + 3500) } }, t0 + 3500)
  const [atPlain, atDelayed] = [plain, delayed].map(e => deliver(e, A, played, t0 + 3520))
  const seekPlain = commands(atPlain as Action[])[0]
  const seekDelayed = commands(atDelayed as Action[])[0]
  assert.ok(seekPlain?.op === 'pause' && seekDelayed?.op === 'pause')
  assert.ok(Math.abs(seekDelayed.positionMs - seekPlain.positionMs - OUTPUT_DELAY_MS) < 1e-6,
    `the delayed viewer rests ${seekDelayed.positionMs - seekPlain.positionMs} ms further on, not ${OUTPUT_DELAY_MS}`)
  assert.deepEqual(wakes(atDelayed as Action[]), wakes(atPlain as Action[]), 'and starts at the same instant')
  assert.equal(plain.snapshot(t0 + 4000).expectedPositionMs, delayed.snapshot(t0 + 4000).expectedPositionMs, 'the shared timeline is the same for both')

  // The delayed viewer pauses where its player is: the room pauses where it heard that, and its
  // own player is put on that same frame.
  const wakeAt = wakes(atDelayed as Action[])[0] as number
  delayed.handle({ type: 'tick' }, wakeAt)
  const tPause = wakeAt + 5000
  const playerMs = 30_000 + LAG + (tPause - (t0 + 3500)) + OUTPUT_DELAY_MS
  const paused = delayed.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, playerMs, tPause) } }, tPause)
  const event = sent(paused).find(m => m.type === 'event')
  assert.ok(event?.type === 'event')
  assert.ok(Math.abs(event.state.positionMs - (playerMs - OUTPUT_DELAY_MS)) < 1e-6, `room paused at ${event.state.positionMs}`)
  assert.deepEqual(commands(paused), [{ op: 'pause', positionMs: event.state.positionMs }])
})

test('managed room: a viewer\'s own pause makes no state; its player is brought back to the room, and it is told why', () => {
  const { a, nowA, toB } = pair(0)
  const viewer = new SyncEngine({ nodeId: B, canControl: false })
  viewer.handle({ type: 'peer-up', peer: A }, toB(nowA - 3000))
  for (let i = 0; i < 3; i++) {
    const s = nowA - 3000 + i * 1000
    viewer.handle({ type: 'clock-sample', peer: A, t1: s, t2: s + 20, t3: s + 20.1, t4: s + 40.1 }, s + 40.1)
  }
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, nowA) }, nowA)
  viewer.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 30_000, nowA) }, nowA)
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 30_000, nowA + 500) } }, nowA + 500)
  const wakeAt = wakes(deliver(viewer, A, played, nowA + 520))[0] as number
  viewer.handle({ type: 'tick' }, wakeAt)

  const t = wakeAt + 3000
  const undone = viewer.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 33_000, t) } }, t)
  assert.deepEqual(sent(undone).filter(m => m.type === 'event'), [], 'no event: a viewer cannot control')
  assert.ok(undone.some(x => x.type === 'notice' && x.notice.kind === 'undone' && x.notice.action === 'pause'))
  assert.equal(viewer.snapshot(t).state?.playing, true, 'the room still plays')
  const restart = commands(undone)[0]
  assert.ok(restart?.op === 'pause', 'a scheduled start on the room\'s timeline')
  const next = wakes(undone)[0] as number
  assert.deepEqual(commands(viewer.handle({ type: 'tick' }, next)), [{ op: 'play' }])
})

test('a start made on a fresh room\'s first, lopsided clock sample follows the better offset the next sample gives', () => {
  // One clock, no true offset; B's only sample to A waited 100 ms on the way out (A's daemon was
  // busy starting): B takes A's clock to be 40 ms ahead (±60).
  const a = new SyncEngine({ nodeId: A })
  const b = new SyncEngine({ nodeId: B })
  let t = 10_000
  a.handle({ type: 'peer-up', peer: B }, t)
  b.handle({ type: 'peer-up', peer: A }, t)
  b.handle({ type: 'clock-sample', peer: A, t1: t, t2: t + 100, t3: t + 100.1, t4: t + 120.1 }, t + 120.1)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t) }, t)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, t) }, t)
  t += 1000
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 0, t) } }, t)
  const atB = deliver(b, A, played, t + 1)
  const seek = commands(atB).find(c => c.op === 'pause')
  assert.ok(seek?.op === 'pause', `B pauses and seeks ahead: ${JSON.stringify(commands(atB))}`)
  // B's seek lands where it was sent; B plays when (by its offset) the timeline gets there.
  const landed = b.handle({ type: 'player-status', observed: obs(false, seek.positionMs, t + 30) }, t + 30)
  const playAtMs = Math.min(...wakes(landed), ...wakes(atB))
  const started = b.handle({ type: 'tick' }, playAtMs)
  assert.deepEqual(commands(started), [{ op: 'play' }])
  // B's player runs on B's timeline, which is 40 ms ahead of A's (A's player: what it read plus the fresh-reading lag).
  const truth = (ms: number): number => LAG + (ms - t)
  const at = (ms: number): PlayerObservation => obs(true, seek.positionMs + (ms - (playAtMs + 40)), ms)
  b.handle({ type: 'player-status', observed: at(playAtMs + 100) }, playAtMs + 100)
  const aheadMs = (ms: number): number => (b.snapshot(ms).expectedPositionMs ?? NaN) - truth(ms)
  assert.ok(Math.abs(aheadMs(playAtMs + 200) - 40) < 2, `B's timeline 40 ms ahead: ${aheadMs(playAtMs + 200)}`)
  // The next sample is quick both ways: A's clock is ours. B's timeline moves 40 ms back at once,
  // and B's player follows by a rate move (within a frame's worth: no re-start), not seconds later.
  const s = playAtMs + 300
  const followed = b.handle({ type: 'clock-sample', peer: A, t1: s, t2: s + 0.5, t3: s + 0.6, t4: s + 1.1 }, s + 1.1)
  assert.ok(Math.abs(aheadMs(s + 1.1)) < 2, `B's timeline on A's: ${aheadMs(s + 1.1)}`)
  const rates = commands(followed).filter(c => c.op === 'rate')
  assert.equal(rates.length, 1, `one rate move: ${JSON.stringify(commands(followed))}`)
  assert.ok(rates[0]?.op === 'rate' && rates[0].rate < 1, 'slowed down, to fall back onto the timeline')
})

test('what was learnt of a player is where a new player of its kind starts from', () => {
  const learnt = { startLatencyMs: -47, rateJumpMs: 4.2, readingLagMs: 18, freshReadingLagMs: 5, roughShortMs: 7, seekLeadMs: 26, resumeShiftMs: -20, seekShiftMs: 3 }
  const b = new SyncEngine({ nodeId: B })
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, 1000), learnt }, 1000)
  assert.deepEqual(b.learntPlayer, learnt)
  // Without a record, learning goes on from what this process learnt so far.
  b.handle({ type: 'player-detached' }, 2000)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 0, 3000) }, 3000)
  assert.deepEqual(b.learntPlayer, learnt)
  // A user action is published with the remembered fresh-reading lag, not the first guess.
  const played = b.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 5000, 4000) } }, 4000)
  const event = sent(played)[0]
  assert.ok(event?.type === 'event')
  assert.equal(event.state.positionMs, 5000 + learnt.freshReadingLagMs)
})

test('a player reached after the peers, already playing in a room nobody acted in, gives the room its timeline', () => {
  const b = new SyncEngine({ nodeId: B })
  b.handle({ type: 'peer-up', peer: A }, 1000)
  // The first peer's adoption time passes with no player yet (the mesh starts first).
  b.handle({ type: 'tick' }, 1000 + ADOPT_PLAYING_AFTER_MS)
  assert.equal(b.snapshot(2500).state, null)
  // The viewer pressed play before the daemon reached the player: it attaches playing.
  const attached = b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 7000, 3000) }, 3000)
  const dueMs = Math.min(...wakes(attached))
  assert.ok(dueMs <= 3000 + ADOPT_PLAYING_AFTER_MS, `a wake for adoption: ${dueMs}`)
  const adopted = b.handle({ type: 'tick' }, 3000 + ADOPT_PLAYING_AFTER_MS)
  const event = sent(adopted).find(m => m.type === 'event')
  assert.ok(event?.type === 'event' && event.state.playing, 'the room plays where this viewer is')
  assert.deepEqual(commands(adopted), [], 'this player is left be')
})

test('a player that loses time and then catches up by itself (mpv starved of CPU) is not moved past the timeline', () => {
  const { a, b, nowA, toB } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 0, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 0, toB(nowA)) }, toB(nowA))
  const played = a.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 0, nowA) } }, nowA)
  deliver(b, A, played, nowA + 20)
  const expected = (t: number): number => b.snapshot(t).expectedPositionMs ?? 0
  // B is in step; 2 s in it stands still 250 ms, and 4.5 s later it jumps those 250 ms ahead again.
  const stallAtMs = nowA + 2000
  const catchUpAtMs = nowA + 6500
  let offsetMs = 0
  let rate = 1
  let lastT = nowA + 100
  let wake: number | undefined
  const offsets: Array<[number, number]> = []
  for (let t = nowA + 100; t < nowA + 20_000; t += 93) {
    offsetMs += (t - lastT) * (rate - 1)
    if (lastT < stallAtMs && t >= stallAtMs) offsetMs -= 250
    if (lastT < catchUpAtMs && t >= catchUpAtMs) offsetMs += 250
    lastT = t
    if (wake !== undefined && wake <= t) {
      const out = b.handle({ type: 'tick' }, wake)
      for (const c of commands(out)) if (c.op === 'rate') { offsetMs += (t - wake) * (c.rate - rate); rate = c.rate }
      wake = wakes(out).at(-1)
    }
    const out = b.handle({ type: 'player-status', observed: obs(true, Math.floor((expected(t) + offsetMs) / 40) * 40, t, FILM, rate) }, t)
    for (const c of commands(out)) if (c.op === 'rate') rate = c.rate
    wake = wakes(out).at(-1) ?? wake
    offsets.push([t - nowA, offsetMs])
  }
  const show = offsets.filter((_, i) => i % 10 === 0).map(([t, o]) => `${(t / 1000).toFixed(1)}s:${o.toFixed(0)}`).join(' ')
  // After the catch-up it may be ahead by what a correction of the loss had mended so far, not more.
  const worstAheadMs = Math.max(...offsets.filter(([t]) => t >= catchUpAtMs - nowA).map(([, o]) => o))
  assert.ok(worstAheadMs <= 200, `up to ${worstAheadMs.toFixed(0)} ms ahead after the catch-up: ${show}`)
  assert.ok(Math.abs(offsetMs) <= 20, `${offsetMs.toFixed(1)} ms off at the end: ${show}`)
})

test('a viewer\'s seek read just before our pause (of a peer\'s action) lands: the player is put on the viewer\'s new state at once, not left paused', () => {
  const { a, b, nowA, toB } = pair(5000)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 60_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 60_010, toB(nowA)) }, toB(nowA))
  const paused = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 61_234, nowA + 1234) } }, nowA + 1234)
  const atB = deliver(b, A, paused, toB(nowA + 1254))
  assert.deepEqual(commands(atB), [{ op: 'pause', positionMs: 61_234 }])
  // B's viewer seeks as that pause is on its way: the reading still shows the player playing.
  const seekAtB = toB(nowA + 1291)
  const seeked = b.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 357_061, seekAtB) } }, seekAtB)
  const state = b.snapshot(seekAtB).state
  assert.equal(state?.playing, true, 'a seek while watching: the room plays on from there')
  // Our pause (and its seek) will land after the viewer's seek: a start on the new state follows it.
  const cmds = commands(seeked)
  assert.equal(cmds.length, 1, `commands: ${JSON.stringify(cmds)}`)
  const restAt = cmds[0]
  assert.ok(restAt?.op === 'pause' && Math.abs(restAt.positionMs - 357_061) < 200, `rests near the viewer's seek: ${JSON.stringify(restAt)}`)
  const [wakeAt] = wakes(seeked)
  assert.ok(wakeAt !== undefined)
  assert.deepEqual(commands(b.handle({ type: 'tick' }, wakeAt)), [{ op: 'play' }])
  // Long after our last command, a seek is the viewer's alone: their player is left as it is.
  const later = toB(nowA + 5000)
  assert.deepEqual(commands(b.handle({ type: 'user', action: { kind: 'seek', observed: obs(true, 400_000, later) } }, later)), [])
})

/** A plays (both paused at 60 s); B, following, starts: its pause (with a seek onto A's timeline) is sent. */
function startingAtB () {
  const { a, b, nowA, toB } = pair(5000)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 60_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 60_000, toB(nowA)) }, toB(nowA))
  const played = a.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 60_000, nowA + 1000) } }, nowA + 1000)
  const atB = deliver(b, A, played, toB(nowA + 1020))
  const ourPause = commands(atB)[0]
  assert.ok(ourPause?.op === 'pause', `our start: ${JSON.stringify(commands(atB))}`)
  return { b, nowA, toB, ourPause }
}

/**
 * `answer` is a start on B's own state: one pause resting where B's timeline will be when the
 * player runs from it (mpv: a frame after the play), then `play` at the wake.
 */
function assertStartsOnOwnTimeline (b: SyncEngine, answer: Action[], note: string): void {
  const cmds = commands(answer)
  const restAt = cmds[0]
  const [wakeAt] = wakes(answer)
  assert.ok(cmds.length === 1 && restAt?.op === 'pause' && wakeAt !== undefined, `a start: ${JSON.stringify(cmds)}`)
  const expectedThen = b.snapshot(wakeAt + START_LATENCY_MS).expectedPositionMs ?? NaN
  assert.ok(Math.abs(restAt.positionMs - expectedThen) < 1, `rests at ${restAt.positionMs.toFixed(1)}, B's timeline there ${expectedThen.toFixed(1)}; ${note}`)
  assert.deepEqual(commands(b.handle({ type: 'tick' }, wakeAt)), [{ op: 'play' }])
}

test('a viewer\'s seek read while our start\'s seek is still landing (the reading shows its target): a start puts the player on the published timeline, not a play from the frame it lands on', () => {
  const { b, nowA, toB, ourPause } = startingAtB()
  // B's viewer seeks as our start's seek is on its way; that seek lands after theirs, and the
  // player layer reads its target, paused, while it lands (mpv's time-pos mid-seek).
  const seekAtB = toB(nowA + 1023)
  const midSeek: PlayerObservation = { ...obs(false, ourPause.positionMs, seekAtB), seeking: true }
  const seeked = b.handle({ type: 'user', action: { kind: 'seek', observed: midSeek } }, seekAtB)
  const state = b.snapshot(seekAtB).state
  assert.ok(state?.playing === true && state.stamp.nodeId === B, 'the viewer\'s seek is the room\'s state, playing')
  // mpv lands on the first frame at or after the target (up to 40 ms on) and a `play` runs from
  // there: up to a frame ahead of a state published from the target. A start rests the player
  // where the timeline will be and plays it then.
  assertStartsOnOwnTimeline(b, seeked, `our start's seek was to ${ourPause.positionMs.toFixed(1)}`)
})

test('a viewer\'s play read playing just before our start\'s pause (with its seek) lands: a start puts the player on the viewer\'s timeline, not a play from where that pause seeks', () => {
  const { b, nowA, toB, ourPause } = startingAtB()
  // B's viewer presses play as that pause (a SetPosition ahead, on A's timeline) is on its way.
  const playAtB = toB(nowA + 1060)
  const pressed = b.handle({ type: 'user', action: { kind: 'play', observed: obs(true, 60_000, playAtB) } }, playAtB)
  const state = b.snapshot(playAtB).state
  assert.ok(state?.playing === true && state.stamp.nodeId === B, 'the viewer\'s play is the room\'s state')
  // A `play` now would run from where our pause seeks (A's timeline), ahead of B's own state: a
  // start rests it on B's own, not on A's.
  assertStartsOnOwnTimeline(b, pressed, `A's pause was at ${ourPause.positionMs.toFixed(1)}`)
})

test('a viewer\'s seek while paused, read just before our pause (with its seek) lands: the player is put back on the viewer\'s seek at once', () => {
  const { a, b, nowA, toB } = pair(5000)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 60_000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(false, 60_010, toB(nowA)) }, toB(nowA))
  const paused = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 61_234, nowA + 1234) } }, nowA + 1234)
  assert.deepEqual(commands(deliver(b, A, paused, toB(nowA + 1254))), [{ op: 'pause', positionMs: 61_234 }])
  // B's viewer seeks its paused player as our pause (a SetPosition to 61.234 s) is on its way.
  const seekAtB = toB(nowA + 1290)
  const seeked = b.handle({ type: 'user', action: { kind: 'seek', observed: obs(false, 283_983, seekAtB) } }, seekAtB)
  assert.equal(b.snapshot(seekAtB).state?.playing, false)
  assert.deepEqual(commands(seeked), [{ op: 'pause', positionMs: 283_983 }], 'the viewer\'s position is commanded again')
  // Long after our last command, a seek is the viewer's alone: their player is left as it is.
  const later = toB(nowA + 5000)
  assert.deepEqual(commands(b.handle({ type: 'user', action: { kind: 'seek', observed: obs(false, 300_000, later) } }, later)), [])
})

test('a viewer\'s play on a player paused on another frame is not re-paused before its user input arrives; a player that plays on unbidden is', () => {
  const { a, b, nowA } = pair(0)
  a.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA) }, nowA)
  b.handle({ type: 'player-attached', abilities: WITH_RATE, observed: obs(true, 5000, nowA) }, nowA)
  const paused = a.handle({ type: 'user', action: { kind: 'pause', observed: obs(false, 5100, nowA + 100) } }, nowA + 100)
  assert.deepEqual(commands(deliver(b, A, paused, nowA + 120)), [{ op: 'pause', positionMs: 5100 }])
  // B's player rests 60 ms off the paused position (its reads say so), read every second...
  const restAtMs = nowA + 1000
  for (const t of [restAtMs, restAtMs + 1000]) assert.deepEqual(commands(b.handle({ type: 'player-status', observed: obs(false, 5160, t) }, t)), [], `at ${t - nowA} ms`)
  // ...then its viewer presses play: the status signal is read before the user input (which waits
  // for a read of the player). 2.1 s after the first off-frame read, it must not pause the player.
  const playAtMs = restAtMs + 2100
  assert.deepEqual(commands(b.handle({ type: 'player-status', observed: obs(true, 5160, playAtMs) }, playAtMs)), [], 'the viewer\'s play is left for its user input')
  // Had it been no viewer (a player that plays on by itself), the room's pause is restored once that lasts.
  const stallOut = b.handle({ type: 'player-status', observed: obs(true, 5160 + 2000, playAtMs + 2000) }, playAtMs + 2000)
  assert.ok(commands(stallOut).some(c => c.op === 'pause'), `re-paused after 2 s of playing unbidden: ${JSON.stringify(commands(stallOut))}`)
})

test('what our OS says of our wall clock goes to each direct peer once per change, and where both are synced it narrows a lopsided offset', () => {
  const a = new SyncEngine({ nodeId: A })
  const b = new SyncEngine({ nodeId: B })
  const offsetMs = 5000 // B reads A + 5000
  const tA = 10_000
  a.handle({ type: 'peer-up', peer: B }, tA)
  b.handle({ type: 'peer-up', peer: A }, tA + offsetMs)
  // 20 ms from A to B, 100 ms back: two-way puts B's clock 40 ms off.
  for (let i = 0; i < 3; i++) {
    const s = tA + i * 1000
    a.handle({ type: 'clock-sample', peer: B, t1: s, t2: s + 20 + offsetMs, t3: s + 20 + offsetMs + 0.1, t4: s + 120.1 }, s + 120.1)
  }
  const nowA = tA + 3000
  const offsetOf = (e: SyncEngine, t: number) => e.snapshot(t).peers.find(p => p.peer === B)
  assert.ok(Math.abs((offsetOf(a, nowA)?.offsetMs ?? 0) - (offsetMs - 40)) < 1, 'the asymmetry is hidden from two-way')
  assert.equal(offsetOf(a, nowA)?.clockSynced, null)

  // Each end's process clock minus its wall clock; the wall clocks agree, so B's is A's + 5000.
  const told = a.handle({ type: 'os-clock', synced: true, clockMinusWallMs: 3 }, nowA)
  assert.deepEqual(told.flatMap(x => x.type === 'send' ? [[x.to, x.msg]] : []), [[B, { type: 'clock-synced', synced: true, clockMinusWallMs: 3 }]])
  assert.deepEqual(sent(a.handle({ type: 'os-clock', synced: true, clockMinusWallMs: 3.2 }, nowA + 10_000)), [], 'a hair moved: not told again')
  assert.equal(sent(a.handle({ type: 'os-clock', synced: true, clockMinusWallMs: 4 }, nowA + 20_000)).length, 1, 'a step: told again')
  a.handle({ type: 'os-clock', synced: true, clockMinusWallMs: 3 }, nowA)

  deliver(a, B, b.handle({ type: 'os-clock', synced: true, clockMinusWallMs: 5003 }, nowA + offsetMs), nowA)
  const narrowed = offsetOf(a, nowA)
  assert.equal(narrowed?.clockSynced, true)
  assert.ok(narrowed?.offsetMs !== null && narrowed?.offsetMs !== undefined && Math.abs(narrowed.offsetMs - offsetMs) <= 10, `narrowed to ${String(narrowed?.offsetMs)}`)

  // A newcomer is told at once; a clock-synced relayed by someone else says nothing of a link of ours.
  const up = a.handle({ type: 'peer-up', peer: C }, nowA)
  assert.ok(up.some(x => x.type === 'send' && x.to === C && x.msg.type === 'clock-synced'))
  const relayed = a.handle({ type: 'message', from: C, author: B, msg: { type: 'clock-synced', synced: false } }, nowA)
  assert.ok(relayed.some(x => x.type === 'notice' && x.notice.kind === 'rejected'))
  assert.equal(offsetOf(a, nowA)?.clockSynced, true)
})
