/**
 * Properties of the sync engine, checked in the seeded simulator over many random worlds.
 * A failure names its seed; `node dist/sim/replay.js <world> <seed> [--trace FROM TO]` replays it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Rng } from '../../sim/rng.js'
import { MPV } from '../../sim/player.js'
import { LOST_PACKET_RETRANSMIT_MS, NOBODY, OS_WALL_ERROR_MS, benchScenarios, link, mpv, randomScenario } from '../../sim/scenarios.js'
import { IN_SYNC_MS, runScenario, type RunResult, type ScenarioSpec, type ScriptedAction } from '../../sim/world.js'
import { percentile } from '../../sim/stats.js'
import { EVENT_MIN_INTERVAL_MS, OS_CLOCK_ERROR_MS } from '../../src/sync/config.js'

const MPV_SEEDS = range(1, 100)
const HOSTILE_SEEDS = range(101, 200)
/** Looser for rooms with VLC-like players, whose positions are up to 500 ms stale. */
const HOSTILE_SYNC_MS = 100
/**
 * A pause over two hops of a 100 ms RTT link: noticed within 100 ms, two hops of 50 ± 15 ms, one
 * of which may hit a queue spike (2 %, mean 30 ms), and landed. Over one path with the packet lost
 * the same pauses took 295-400 ms (20 seeds); over two, 100-280 ms.
 */
const PAUSE_OVER_TWO_HOPS_MAX_MS = 300
/**
 * How long a paused seek of mpv takes on a busy machine (2-4 ms when idle): on the network test bed
 * at load ~25, reads 30 and 63 ms after a scheduled start's pause-and-seek still showed the target.
 */
const LOADED_SEEK_PAUSED_MS: [number, number] = [2, 80]

function range (from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

function replay (world: string, seed: number): string {
  return `seed ${seed} (replay: node dist/sim/replay.js ${world} ${seed})`
}

function nodeMinutes (r: RunResult): number {
  return r.nodes * r.durationMs / 60_000
}

function quietWorld (over: Partial<ScenarioSpec>): ScenarioSpec {
  return {
    name: 'scripted',
    nodes: 3,
    durationMs: 60_000,
    link: () => link(100, 30),
    clock: (_i, rng) => ({ originMs: rng.uniform(0, 1e7), driftPpm: rng.uniform(-50, 50) }),
    player: mpv,
    users: NOBODY,
    script: [{ atMs: 2000, node: 0, kind: 'play' }],
    ...over
  }
}

test('mpv-like rooms: everyone converges, every action and rejoin lands, corrections stay bounded', () => {
  let actions = 0
  let timeouts = 0
  for (const seed of MPV_SEEDS) {
    const r = runScenario(randomScenario(new Rng(seed).fork('scenario'), { stalePlayers: false }), seed)
    const where = replay('random-mpv', seed)
    assert.ok(r.final.converged, `${where}: not converged: stamps ${r.final.stamps.join(' ')}, playing ${r.final.playing.join(' ')}, skew ${r.final.skewMs.toFixed(1)} ms`)
    assert.equal(r.rejoinTimeouts, 0, `${where}: a rejoiner never got in step`)
    assert.ok(r.actionTimeouts <= 1, `${where}: ${r.actionTimeouts} actions never landed everywhere`)
    assert.ok(r.correctiveSeeks / nodeMinutes(r) <= 1, `${where}: ${r.correctiveSeeks} corrective seeks`)
    assert.ok(r.rateCommands / nodeMinutes(r) <= 40, `${where}: ${r.rateCommands} rate commands (oscillating?)`)
    // No pause/resume loop: the engines start players about once per node per action, not forever.
    assert.ok(r.engineStarts <= (r.userActions + 4) * r.nodes * 1.5, `${where}: ${r.engineStarts} starts for ${r.userActions} actions`)
    actions += r.actionLatencyMs.length
    timeouts += r.actionTimeouts
  }
  // Actions racing a command of ours still in flight can end in another (converged) state; rare.
  assert.ok(timeouts <= actions * 0.01, `${timeouts} of ${actions} actions never landed everywhere`)
})

test('hostile rooms (stale players, no Rate, slow players, loss, partitions): the state converges and corrections stay bounded', () => {
  for (const seed of HOSTILE_SEEDS) {
    const r = runScenario(randomScenario(new Rng(seed).fork('scenario'), { stalePlayers: true }), seed)
    const where = replay('random', seed)
    const stamps = new Set(r.final.stamps)
    assert.equal(stamps.size, 1, `${where}: engines disagree on the winning state: ${r.final.stamps.join(' ')}`)
    assert.ok(!stamps.has('none'), `${where}: an engine has no state`)
    assert.ok(r.final.playing.every(p => p === r.final.playing[0]), `${where}: players disagree on play/pause`)
    assert.ok(r.final.skewMs <= HOSTILE_SYNC_MS, `${where}: final skew ${r.final.skewMs.toFixed(1)} ms`)
    assert.ok(r.correctiveSeeks / nodeMinutes(r) <= 1, `${where}: ${r.correctiveSeeks} corrective seeks`)
    assert.ok(r.rateCommands / nodeMinutes(r) <= 40, `${where}: ${r.rateCommands} rate commands (oscillating?)`)
  }
})

test('concurrent actions from different nodes resolve to the same winner everywhere', () => {
  const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }]
  for (let k = 0; k < 10; k++) {
    const at = 6000 + k * 4000
    script.push({ atMs: at, node: k % 3, kind: k % 2 === 0 ? 'pause' : 'seek', positionMs: 100_000 * k })
    script.push({ atMs: at + (k % 4) * 5, node: (k + 1) % 3, kind: 'seek', positionMs: 100_000 * k + 50_000 })
  }
  for (const seed of range(1, 5)) {
    const r = runScenario(quietWorld({ script }), seed)
    assert.ok(r.final.converged, `seed ${seed}: ${r.final.stamps.join(' ')} ${r.final.playing.join(' ')} skew ${r.final.skewMs}`)
  }
})

/**
 * Two viewers acting 2 ms apart in a quiet room settle within a notice (~100 ms), a one-way delay,
 * the other event's arrival and a scheduled start: a few hundred ms at 100 ms RTT, far from the
 * watch's 10 s cap, which is where a lost race used to end.
 */
const CONCURRENT_SETTLED_MAX_MS = 1000

test('two viewers act 2 ms apart: the measured action is done when the room converges on the winner, never a timeout', () => {
  // Each pair in both orders: with equal Lamport counters, the order by node id decides, so in one
  // order of each pair the later (measured) action loses. Pairs are further apart than the watch's
  // cap, so a lost race shows as a timeout rather than being voided by the next pair.
  const pairs: Array<[ScriptedAction, ScriptedAction]> = [
    [{ atMs: 10_000, node: 0, kind: 'pause' }, { atMs: 10_002, node: 1, kind: 'seek', positionMs: 900_000 }],
    [{ atMs: 22_000, node: 1, kind: 'pause' }, { atMs: 22_002, node: 2, kind: 'pause' }],
    [{ atMs: 34_000, node: 0, kind: 'play' }, { atMs: 34_002, node: 1, kind: 'seek', positionMs: 1_200_000 }],
    [{ atMs: 46_000, node: 1, kind: 'play' }, { atMs: 46_002, node: 2, kind: 'pause' }]
  ]
  const failures: string[] = []
  let lostRaces = 0
  for (const rttMs of [2, 100]) {
    for (const swap of [false, true]) {
      const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }]
      for (const [a, b] of pairs) script.push({ ...a, node: swap ? b.node : a.node }, { ...b, node: swap ? a.node : b.node })
      for (const seed of range(1, 5)) {
        const r = runScenario(quietWorld({ durationMs: 60_000, link: () => link(rttMs, rttMs * 0.3), script }), seed)
        const where = `rtt ${rttMs} ms${swap ? ', swapped' : ''}, ${replay('(scripted: concurrent pairs)', seed)}`
        if (!r.final.converged) failures.push(`${where}: not converged (stamps ${r.final.stamps.join(' ')}, playing ${r.final.playing.join(' ')})`)
        if (r.actions.length !== pairs.length + 1) failures.push(`${where}: ${r.actions.length} actions measured, not ${pairs.length + 1}`)
        for (const a of r.actions) {
          if (a.judged === 'timeout' || a.latencyMs > CONCURRENT_SETTLED_MAX_MS) failures.push(`${where}: n${a.node} ${a.kind} at ${a.atMs} ms ${a.judged}, ${a.latencyMs.toFixed(0)} ms`)
        }
        lostRaces += r.actions.filter(a => a.judged === 'winner').length
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'))
  // The watch's rule for a lost race was exercised, not only the actor's own intent.
  assert.ok(lostRaces > 0, 'no measured action lost its race: the pairs test nothing new')
})

/** The goal for a resume's or a seek's lead on a LAN: every other player on it this soon after the daemon heard of it. */
const LAN_LEAD_GOAL_MS = 100

test('resumes and seeks on a LAN reach every player within the notice + 100 ms; on lan and wan links every player is within a frame 1 s and 3 s after each', () => {
  const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }]
  for (let k = 0; k < 8; k++) {
    const at = 6000 + k * 8000
    script.push({ atMs: at, node: k % 3, kind: 'pause' }, { atMs: at + 2500, node: (k + 1) % 3, kind: 'play' }, { atMs: at + 5000, node: (k + 2) % 3, kind: 'seek', positionMs: 300_000 + k * 90_000 })
  }
  const failures: string[] = []
  const lanLatencies: number[] = []
  for (const rttMs of [2, 100]) {
    for (const seed of range(1, 5)) {
      const spec = quietWorld({ durationMs: 72_000, link: () => link(rttMs, rttMs * 0.3), script, skewProbesMs: script.slice(1).flatMap(a => [a.atMs + 1000, a.atMs + 2400]) })
      const r = runScenario(spec, seed)
      const where = `rtt ${rttMs} ms, ${replay('(scripted: pause, resume, seek)', seed)}`
      for (const p of r.probedSkew) {
        if (p.skewMs > IN_SYNC_MS || p.playing.some(x => x !== p.playing[0])) failures.push(`${where}: ${p.skewMs.toFixed(1)} ms apart at ${p.atMs} ms, playing ${p.playing.join(' ')}`)
      }
      if (rttMs !== 2) continue
      for (const a of r.actions) {
        if (a.kind !== 'play' && a.kind !== 'seek') continue
        // The daemon hears of a resume up to 101 ms late (mpv's PropertiesChanged), of a seek up to 30 ms (Seeked).
        const noticeMs = a.kind === 'play' ? MPV.noticeMs[1] : 30
        lanLatencies.push(a.latencyMs)
        if (a.latencyMs > noticeMs + LAN_LEAD_GOAL_MS) failures.push(`${where}: n${a.node} ${a.kind} at ${a.atMs} ms took ${a.latencyMs.toFixed(0)} ms`)
      }
    }
  }
  assert.ok(lanLatencies.length >= 5 * 17, `${lanLatencies.length} resumes and seeks measured on the LAN`)
  assert.deepEqual(failures, [], failures.join('\n'))
})

test('bursts (scrubbing, mashing play/pause) send a bounded number of events and end in the user\'s final state', () => {
  const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }]
  // 20 seeks in one second, then 10 play/pause presses in one second, on node 1.
  for (let k = 0; k < 20; k++) script.push({ atMs: 10_000 + k * 50, node: 1, kind: 'seek', positionMs: 600_000 + k * 7000 })
  for (let k = 0; k < 10; k++) script.push({ atMs: 20_000 + k * 100, node: 1, kind: k % 2 === 0 ? 'pause' : 'play' })
  for (const seed of range(1, 5)) {
    const r = runScenario(quietWorld({ script }), seed)
    const burstSeconds = 2
    // One event per EVENT_MIN_INTERVAL_MS while a burst lasts, plus the start and the final ones.
    const bound = 1 + burstSeconds * (1000 / EVENT_MIN_INTERVAL_MS + 1)
    assert.ok(r.eventsSent <= bound, `seed ${seed}: ${r.eventsSent} events for 31 actions (bound ${bound})`)
    assert.ok(r.final.converged, `seed ${seed}: not converged`)
    assert.deepEqual(r.final.playing, [true, true, true], `seed ${seed}: the last press was play`)
  }
})

test('a partition that heals converges on the newer side\'s state; rejoiners get in step within a second', () => {
  const spec = quietWorld({
    nodes: 4,
    durationMs: 90_000,
    partitions: [{ fromMs: 10_000, toMs: 40_000, group: [0, 1] }],
    churn: [{ node: 3, atMs: 50_000, downMs: 4000, kind: 'restart' }, { node: 2, atMs: 65_000, downMs: 6000, kind: 'disconnect' }],
    script: [
      { atMs: 2000, node: 0, kind: 'play' },
      { atMs: 20_000, node: 0, kind: 'seek', positionMs: 300_000 },
      { atMs: 25_000, node: 2, kind: 'pause' },
      { atMs: 30_000, node: 3, kind: 'play' }
    ]
  })
  for (const seed of range(1, 5)) {
    const r = runScenario(spec, seed)
    assert.ok(r.final.converged, `seed ${seed}: not converged after the heal`)
    assert.equal(r.rejoinMs.length, 3, `seed ${seed}: the heal, the restart and the reconnect are measured`)
    for (const ms of r.rejoinMs) assert.ok(ms <= 1000, `seed ${seed}: rejoin took ${ms} ms of simulated time`)
  }
})

test('steady state with drifting clocks: no corrective seek, no pause/resume, skew within a frame', () => {
  const spec = quietWorld({
    nodes: 2,
    durationMs: 30 * 60_000,
    clock: (i, rng) => ({ originMs: rng.uniform(0, 1e7), driftPpm: i === 0 ? -50 : 50 })
  })
  const r = runScenario(spec, 7)
  assert.equal(r.correctiveSeeks, 0)
  // The initial start, and at most its one redo (a new player's start latency is learnt on it).
  assert.ok(r.engineStarts <= 2, `${r.engineStarts} starts: only the initial one and its redo`)
  assert.ok((percentile(r.skewMs, 95) ?? Infinity) <= 20, `skew p95 ${percentile(r.skewMs, 95)} ms`)
  assert.ok((percentile(r.skewMs, 100) ?? Infinity) <= IN_SYNC_MS, `skew max ${percentile(r.skewMs, 100)} ms`)
  assert.ok((percentile(r.offsetErrorMs, 95) ?? Infinity) <= 2, `offset error p95 ${percentile(r.offsetErrorMs, 95)} ms`)
})

test('partial mesh, a node restarts: no one reads its new clock with the offset its neighbours reported for the old one', () => {
  // The seeds where a node not linked to the restarted one put the timeline 500-7000 s off (before
  // neighbours sent their offsets at once on a change and receivers dropped reports a newer one voided).
  const spec = benchScenarios().find(s => s.name === 'partial-mesh')
  assert.ok(spec !== undefined)
  for (const seed of [1013, 1196, 1284, 1479]) {
    const r = runScenario(spec, seed)
    assert.ok(r.worstSkew.skewMs <= 1000, `${replay('partial-mesh', seed)}: ${r.worstSkew.skewMs.toFixed(0)} ms of skew at ${r.worstSkew.atMs} ms`)
  }
})

test('a lopsided path (40 ms one way, 120 back) where every OS keeps its wall clock synced: offsets within the wall clocks\' error, every action lands, skew within a frame', () => {
  const two = benchScenarios().find(s => s.name === 'asymmetric')
  const synced = benchScenarios().find(s => s.name === 'asymmetric-synced')
  assert.ok(two !== undefined && synced !== undefined)
  // What the two-way measurement alone leaves on these seeds: half the asymmetry, 40 ms.
  for (const seed of [1, 2]) {
    const off = percentile(runScenario(two, seed).offsetErrorMs, 95) ?? 0
    assert.ok(off >= 35, `${replay('asymmetric', seed)}: offset error p95 ${off.toFixed(1)} ms; the path is not lopsided enough to show anything`)
  }
  // Narrowed to within the pair's allowance of what the wall clocks say, themselves each within OS_WALL_ERROR_MS.
  const offsetBarMs = 2 * OS_CLOCK_ERROR_MS + 2 * OS_WALL_ERROR_MS
  // 1001 and 1019: a node's link drops for 8 s and comes back; while its peers were away, their
  // offsets to it fell back to two-way, 40 ms apart, and back again (skew 81 and 118 ms, rejoins 1.8-2.6 s).
  for (const seed of [1, 2, 3, 4, 5, 1001, 1019]) {
    const r = runScenario(synced, seed)
    const off = percentile(r.offsetErrorMs, 100) ?? Infinity
    const skew = percentile(r.skewMs, 95) ?? Infinity
    const worst = percentile(r.skewMs, 100) ?? Infinity
    assert.ok(off <= offsetBarMs, `${replay('asymmetric-synced', seed)}: offset error max ${off.toFixed(1)} ms`)
    assert.equal(r.actionTimeouts, 0, `${replay('asymmetric-synced', seed)}: ${r.actionTimeouts} actions never landed`)
    assert.ok(skew <= IN_SYNC_MS, `${replay('asymmetric-synced', seed)}: skew p95 ${skew.toFixed(1)} ms`)
    assert.ok(worst <= 1.5 * IN_SYNC_MS, `${replay('asymmetric-synced', seed)}: skew max ${worst.toFixed(1)} ms at ${r.worstSkew.atMs} ms`)
    assert.ok(r.rejoinMs.every(ms => ms <= 1000) && r.rejoinTimeouts === 0, `${replay('asymmetric-synced', seed)}: rejoins ${r.rejoinMs.map(ms => ms.toFixed(0)).join(', ')} ms`)
  }
})

test('a viewer\'s own lopsided line misleads their time service the same way: synced wall clocks then agree with two-way, and change nothing', () => {
  // Node 2's line: 20 ms out, 100 ms in, to everyone and to its time server alike. NTP over it
  // sets node 2's wall clock (20 - 100) / 2 = 40 ms behind true time; the others' are exact.
  const line = (a: number, b: number) => b === 2 ? { ...link(40, 2), forwardMs: 100, backMs: 20 } : link(40, 2)
  const world = (synced: boolean): ScenarioSpec => ({
    ...quietWorld({ durationMs: 120_000, link: line }),
    clock: (i, rng) => ({ originMs: rng.uniform(0, 1e7), driftPpm: rng.uniform(-50, 50), ...(synced ? { osWallErrorMs: i === 2 ? -40 : 0 } : {}) })
  })
  for (const seed of [1, 2, 3]) {
    const two = percentile(runScenario(world(false), seed).offsetErrorMs, 95) ?? 0
    const walls = percentile(runScenario(world(true), seed).offsetErrorMs, 95) ?? 0
    assert.ok(two >= 35, `seed ${seed}: two-way alone is ${two.toFixed(1)} ms off; the line is not lopsided enough to show anything`)
    assert.ok(Math.abs(walls - two) <= 2, `seed ${seed}: offset error p95 ${two.toFixed(1)} ms two-way, ${walls.toFixed(1)} ms with the wall clocks`)
  }
})

test('the same seed replays the same run', () => {
  const spec = randomScenario(new Rng(42).fork('scenario'))
  const a = runScenario(spec, 42)
  const b = runScenario(randomScenario(new Rng(42).fork('scenario')), 42)
  assert.deepEqual(a, b)
  const c = runScenario(randomScenario(new Rng(43).fork('scenario')), 43)
  assert.notDeepEqual(a.skewMs, c.skewMs)
})

test('followers whose plays land 45 ms late (a loaded machine): after the first resume teaches them, every later resume is within one frame 1 s and 4 s on', () => {
  // The author's re-anchors move the followers right after each start; the start must still teach
  // its miss (before, a move under way when the track matured taught nothing, and every resume
  // missed by 45 ms for ~3 s; with the track started again by that move, 4-5 s).
  const resumes = [12_000, 22_000]
  const script: ScriptedAction[] = [
    { atMs: 2000, node: 0, kind: 'play' }, { atMs: 10_000, node: 0, kind: 'pause' }, { atMs: 12_000, node: 0, kind: 'play' },
    { atMs: 20_000, node: 0, kind: 'pause' }, { atMs: 22_000, node: 0, kind: 'play' }
  ]
  const failures: string[] = []
  for (const seed of range(1, 20)) {
    const spec = quietWorld({
      durationMs: 30_000,
      link: () => link(2, 1),
      player: i => i === 0 ? MPV : { ...MPV, startLatencyMs: MPV.startLatencyMs + 45 },
      script,
      skewProbesMs: resumes.flatMap(r => [r + 1000, r + 4000])
    })
    for (const p of runScenario(spec, seed).probedSkew) {
      if (p.skewMs > IN_SYNC_MS || p.playing.some(x => !x)) failures.push(`${replay('(scripted: followers start 45 ms late)', seed)}: ${p.skewMs.toFixed(1)} ms apart at ${p.atMs} ms, playing ${p.playing.join(' ')}`)
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'))
})

test('a speed change at one viewer lands like a resume: every player within one frame 2 s later', () => {
  const changeAtMs = 15_000
  const failures: string[] = []
  for (const rate of [1.25, 1.5, 0.75]) {
    for (const seed of range(1, 10)) {
      const spec = quietWorld({
        durationMs: 40_000,
        script: [{ atMs: 2000, node: 0, kind: 'play' }, { atMs: changeAtMs, node: 1, kind: 'rate', rate }],
        skewProbesMs: [changeAtMs + 2000, changeAtMs + 5000, changeAtMs + 15_000]
      })
      const r = runScenario(spec, seed)
      for (const p of r.probedSkew) {
        if (p.skewMs > IN_SYNC_MS || p.playing.some(x => !x)) failures.push(`rate ${rate} ${replay('(scripted)', seed)}: ${p.skewMs.toFixed(1)} ms apart ${p.atMs - changeAtMs} ms after the change, playing ${p.playing.join(' ')}`)
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'))
})

/** Seeds of a quiet 3-node room running `script`: each probe where the players are over a frame apart or not all playing, and each run not converged. */
function speedRunFailures (script: ScriptedAction[], skewProbesMs: number[], seeds = range(1, 10)): string[] {
  const failures: string[] = []
  for (const seed of seeds) {
    const r = runScenario(quietWorld({ durationMs: 40_000, script, skewProbesMs }), seed)
    for (const p of r.probedSkew) {
      if (p.skewMs > IN_SYNC_MS || p.playing.some(x => !x)) failures.push(`${replay('(scripted)', seed)}: ${p.skewMs.toFixed(1)} ms apart at ${p.atMs} ms, playing ${p.playing.join(' ')}`)
    }
    if (!r.final.converged) failures.push(`${replay('(scripted)', seed)}: not converged (stamps ${r.final.stamps.join(' ')}), skew ${r.final.skewMs.toFixed(1)} ms`)
  }
  return failures
}

test('a speed change while paused holds: the resume plays everyone at the new speed, within one frame 2 s later', () => {
  const failures = speedRunFailures([{ atMs: 2000, node: 0, kind: 'play' }, { atMs: 10_000, node: 2, kind: 'pause' }, { atMs: 12_000, node: 1, kind: 'rate', rate: 1.5 }, { atMs: 15_000, node: 0, kind: 'play' }], [17_000, 20_000, 30_000])
  assert.deepEqual(failures, [], failures.join('\n'))
})

test('a speed change between 0.75x and 1.5x (the old speed runs on longest) lands like a resume: every player within one frame 2, 5 and 15 s later', () => {
  // Followers that only set the new rate when they looked in step sat 30-52 ms off for seconds
  // (0.75 -> 1.5x at 100 ms RTT, 30 seeds); a start on the new timeline puts each on it.
  const failures: string[] = []
  for (const [from, to] of [[0.75, 1.5], [1.5, 0.75], [1.5, 1]] as const) {
    const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }, { atMs: 4000, node: 2, kind: 'rate', rate: from }, { atMs: 20_000, node: 1, kind: 'rate', rate: to }]
    failures.push(...speedRunFailures(script, [22_000, 25_000, 35_000], range(1, 20)).map(f => `${from} -> ${to}x ${f}`))
  }
  assert.deepEqual(failures, [], failures.join('\n'))
})

test('two viewers change the speed at once: one wins everywhere, every player within one frame 2 s later', () => {
  const failures = speedRunFailures([{ atMs: 2000, node: 0, kind: 'play' }, { atMs: 15_000, node: 1, kind: 'rate', rate: 1.25 }, { atMs: 15_010, node: 2, kind: 'rate', rate: 1.5 }], [17_000, 20_000, 30_000])
  assert.deepEqual(failures, [], failures.join('\n'))
})

test('one lost packet does not hold up a control event: it comes over the third node, not after a retransmission', () => {
  // Every event node 0 sends straight to node 2 is lost once and retransmitted; node 1 relays it.
  const script: ScriptedAction[] = [
    { atMs: 2000, node: 0, kind: 'play' }, { atMs: 8000, node: 0, kind: 'pause' }, { atMs: 14_000, node: 0, kind: 'play' },
    { atMs: 20_000, node: 0, kind: 'seek', positionMs: 600_000 }, { atMs: 26_000, node: 0, kind: 'pause' }, { atMs: 32_000, node: 0, kind: 'play' }
  ]
  const world = (secondPath: boolean): ScenarioSpec => quietWorld({
    durationMs: 40_000,
    script,
    eventLoss: { share: 1, retransmitMs: LOST_PACKET_RETRANSMIT_MS, link: [0, 2] },
    eventSecondPath: secondPath
  })
  const failures: string[] = []
  for (const seed of range(1, 20)) {
    const now = runScenario(world(true), seed).actionLatencyByKindMs
    const before = runScenario(world(false), seed).actionLatencyByKindMs
    const where = `${replay('(scripted: lost event 0->2)', seed)}: pauses ${now.pause.map(Math.round).join(', ')} ms (one path: ${before.pause.map(Math.round).join(', ')} ms)`
    if (now.pause.length !== 2 || now.pause.some(ms => ms > PAUSE_OVER_TWO_HOPS_MAX_MS)) failures.push(`${where}: a pause was late`)
    // The model bites: without the second path the same pauses wait for the retransmission.
    if (before.pause.some(ms => ms < LOST_PACKET_RETRANSMIT_MS)) failures.push(`${where}: the lost packet did not delay the one-path pause`)
    for (const kind of ['play', 'seek'] as const) {
      if (now[kind].some(ms => ms >= LOST_PACKET_RETRANSMIT_MS + 100)) failures.push(`${where}: a ${kind} took ${now[kind].map(Math.round).join(', ')} ms`)
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'))
})

test('a seek during playback at 100 ms RTT +-30 ms jitter, on a busy machine: every player within one frame 1 s later, every time', () => {
  const seeks = 12
  const firstSeekMs = 8000
  const everyMs = 6000
  const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }]
  for (let i = 0; i < seeks; i++) script.push({ atMs: firstSeekMs + i * everyMs, node: (i + 1) % 3, kind: 'seek', positionMs: 600_000 + i * 60_000 })
  const failures: string[] = []
  for (const seed of range(1, 10)) {
    const spec = quietWorld({
      durationMs: firstSeekMs + seeks * everyMs,
      player: () => ({ ...MPV, seekPausedMs: LOADED_SEEK_PAUSED_MS }),
      script,
      skewProbesMs: script.slice(1).map(s => s.atMs + 1000)
    })
    const r = runScenario(spec, seed)
    for (const p of r.probedSkew) {
      if (p.skewMs > IN_SYNC_MS || p.playing.some(x => !x)) failures.push(`${replay('(scripted: seeks while playing, loaded mpv)', seed)}: ${p.skewMs.toFixed(1)} ms apart 1 s after the seek at ${p.atMs - 1000} ms, playing ${p.playing.join(' ')}`)
    }
    assert.equal(r.probedSkew.length, seeks)
  }
  assert.deepEqual(failures, [], failures.join('\n'))
})

/**
 * Of the probes 2 s after an action in a room whose follower's starts land late at random, how
 * many may still be over a frame: the residue is a start redone for a miss it took for the
 * latency's (a late start teaches ~48 ms, the punctual redo lands that far ahead, or a late one
 * twice as far behind), and an author's timeline 45 ms off until its mature re-anchor. 6 of 160
 * seen (40.6-55.7 ms); 64 of 160 before starts were mended from their first readings.
 */
const LATE_STARTS_OVER_AT_2S_MAX = 8

test('a follower whose starts sometimes land ~60 ms late (a loaded machine): after a speed change or a seek during playback every player is within one frame 2 s on (but a rare few) and 3 s on', () => {
  // Real mpv beside a busy core (bench:speed): a follower's start on 1 -> 1.25x landed 60 ms
  // behind; the start check left such a miss to the mature track, which saw it ~2 s later and
  // mended it over another second. Half the starts land late here: such misses are not learnt away.
  const script: ScriptedAction[] = [{ atMs: 2000, node: 0, kind: 'play' }]
  const rates = [1.25, 1, 1.5, 1]
  for (let k = 0; k < 8; k++) {
    const atMs = 6000 + k * 5000
    const node = k % 2
    script.push(k % 2 === 0 ? { atMs, node, kind: 'rate', rate: rates[k / 2] ?? 1 } : { atMs, node, kind: 'seek', positionMs: 600_000 + k * 60_000 })
  }
  const over = new Map<string, { over: number, of: number }>()
  const atTwo: string[] = []
  const atThree: string[] = []
  for (const rttMs of [2, 100]) {
    for (const seed of range(1, 10)) {
      const spec = quietWorld({
        durationMs: 48_000,
        link: () => link(rttMs, rttMs * 0.3),
        player: i => i === 2 ? { ...MPV, lateStarts: { share: 0.5, ms: [50, 70] } } : MPV,
        script,
        skewProbesMs: script.slice(1).flatMap(a => [a.atMs + 1000, a.atMs + 2000, a.atMs + 3000])
      })
      const r = runScenario(spec, seed)
      assert.equal(r.probedSkew.length, 3 * (script.length - 1))
      for (const p of r.probedSkew) {
        const action = script.slice(1).find(a => p.atMs > a.atMs && p.atMs <= a.atMs + 3000)
        if (action === undefined) continue
        const afterS = Math.round((p.atMs - action.atMs) / 1000)
        const key = `${action.kind} +${afterS} s`
        const counts = over.get(key) ?? { over: 0, of: 0 }
        over.set(key, counts)
        counts.of++
        if (p.skewMs <= IN_SYNC_MS && p.playing.every(x => x)) continue
        counts.over++
        const line = `rtt ${rttMs} ms, ${replay('(scripted: follower starts late)', seed)}: ${p.skewMs.toFixed(1)} ms apart ${afterS} s after the ${action.kind} at ${action.atMs} ms, playing ${p.playing.join(' ')}`
        if (afterS === 2) atTwo.push(line)
        if (afterS === 3) atThree.push(line)
      }
    }
  }
  const figures = [...over].map(([k, c]) => `${k} ${c.over}/${c.of}`).join(', ')
  assert.ok(atTwo.length <= LATE_STARTS_OVER_AT_2S_MAX, `over a frame (of probes): ${figures}\n${atTwo.join('\n')}`)
  assert.deepEqual(atThree, [], `over a frame (of probes): ${figures}\n${atThree.join('\n')}`)
})
