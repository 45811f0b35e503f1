/**
 * Named scenarios for the benchmark, and the random scenario the property tests draw from a seed.
 */
import type { ClockModel } from './clock.js'
import type { LinkModel } from './network.js'
import { CHROMIUM, MPV, type PlayerModel } from './player.js'
import type { Rng } from './rng.js'
import type { ChurnEvent, ScenarioSpec, UserModel } from './world.js'

/** Links of a given round trip and jitter (± jitter/2 on each direction, so RTT ± jitter). */
export function link (rttMs: number, jitterMs: number, extra: Partial<LinkModel> = {}): LinkModel {
  return {
    forwardMs: rttMs / 2,
    backMs: rttMs / 2,
    jitterMs,
    spikeProbability: 0.02,
    spikeMeanMs: jitterMs,
    loss: 0,
    retransmitMs: null,
    duplicate: 0.002,
    ...extra
  }
}

/** Clocks with arbitrary origins (each process started at another time) and crystal drift. */
export function clocks (driftPpm: number) {
  return (_i: number, rng: Rng): ClockModel => ({ originMs: rng.uniform(0, 1e7), driftPpm: rng.uniform(-driftPpm, driftPpm) })
}

/**
 * Clocks as `clocks`, on machines whose OS keeps the wall clock in step with time servers, each
 * within ±`wallErrorMs` of true time (ClockModel.osWallErrorMs).
 */
export function syncedClocks (driftPpm: number, wallErrorMs: number) {
  return (i: number, rng: Rng): ClockModel => ({ ...clocks(driftPpm)(i, rng), osWallErrorMs: rng.uniform(-wallErrorMs, wallErrorMs) })
}

/** How far the wall clocks of `asymmetric-synced` are from true time, at most (chrony does better, timesyncd about this). */
export const OS_WALL_ERROR_MS = 3

export const mpv = (): PlayerModel => MPV

/** Someone does something every ~20 s; sometimes two at once; sometimes a burst. */
export const BUSY_ROOM: UserModel = { meanIntervalMs: 20_000, concurrent: 0.1, burst: 0.05, startMs: 5000, quietEndMs: 20_000 }
export const NOBODY: UserModel = { meanIntervalMs: 0, concurrent: 0, burst: 0, startMs: 0, quietEndMs: 0 }

/** Start: node 0 presses play two seconds in. */
const START = [{ atMs: 2000, node: 0, kind: 'play' as const }]

/** One node restarts and one loses its network for a while, in the middle of a run. */
function churn (durationMs: number, nodes: number): ChurnEvent[] {
  return [
    { node: nodes - 1, atMs: durationMs * 0.4, downMs: 5000, kind: 'restart' },
    { node: Math.min(1, nodes - 1), atMs: durationMs * 0.6, downMs: 8000, kind: 'disconnect' }
  ]
}

const TEN_MINUTES_MS = 10 * 60_000

function base (name: string, over: Partial<ScenarioSpec> & { rttMs: number, jitterMs: number, linkExtra?: Partial<LinkModel> }): ScenarioSpec {
  const nodes = over.nodes ?? 3
  const durationMs = over.durationMs ?? TEN_MINUTES_MS
  const { rttMs, jitterMs, linkExtra, ...rest } = over
  return {
    name,
    nodes,
    durationMs,
    link: () => link(rttMs, jitterMs, linkExtra),
    clock: clocks(50),
    player: mpv,
    users: BUSY_ROOM,
    script: START,
    churn: churn(durationMs, nodes),
    ...rest
  }
}

/** The scenarios `npm run bench:sync` runs, in order. Names are part of the JSON contract. */
export function benchScenarios (): ScenarioSpec[] {
  const wan = { rttMs: 100, jitterMs: 30 }
  const asymmetric = { rttMs: 160, jitterMs: 10, link: () => ({ ...link(160, 10), forwardMs: 40, backMs: 120 }) }
  return [
    base('lan', { rttMs: 2, jitterMs: 0.5 }),
    base('wan', wan),
    base('asymmetric', asymmetric),
    // The same path where every OS keeps its wall clock within OS_WALL_ERROR_MS of true time.
    base('asymmetric-synced', { ...asymmetric, clock: syncedClocks(50, OS_WALL_ERROR_MS) }),
    base('loss5', { rttMs: 100, jitterMs: 30, linkExtra: { loss: 0.05, retransmitMs: 250 } }),
    base('nodes8', { ...wan, nodes: 8 }),
    base('partial-mesh', { ...wan, nodes: 5, broken: [[0, 1], [2, 3], [1, 4], [0, 3]] }),
    base('partition-heal', {
      ...wan, nodes: 4, churn: [],
      partitions: [{ fromMs: 120_000, toMs: 180_000, group: [0, 1] }, { fromMs: 360_000, toMs: 375_000, group: [2] }]
    }),
    base('drift100ppm', {
      ...wan, nodes: 2, durationMs: 2 * 3_600_000, users: NOBODY, churn: [],
      clock: (i, rng) => ({ originMs: rng.uniform(0, 1e7), driftPpm: i === 0 ? -50 : 50 })
    }),
    base('no-rate-wan', { ...wan, player: () => ({ ...MPV, canRate: false }) }),
    base('vlc-like-wan', { ...wan, player: () => ({ ...MPV, frameMs: null, staleMs: 500, sendsSeeked: false, rateJumpMs: [0, 0] }) }),
    base('chromium-like-wan', { ...wan, player: () => CHROMIUM }),
    base('initiator-waits-wan', { ...wan, engine: { initiatorWaits: true } }),
    lostEventScenario('lost-event-wan', true, true),
    lostEventScenario('lost-event-wan-one-path', false, false),
    // Two viewers: one link, no second path; the datagram copy is what remains.
    lostEventScenario('lost-event-two-viewers', true, true, 2),
    lostEventScenario('lost-event-two-viewers-stream-only', true, false, 2),
    // Anchors: other projects' choices, run in the same simulator (their own thresholds: no re-sync
    // for a long move, maxMoveMs).
    base('anchor-mprissync-wan', { ...wan, engine: { initiatorWaits: true, minLeadMs: 1000, leadRttFactor: 2 } }),
    base('anchor-jellyfin-wan', {
      ...wan, engine: { initiatorWaits: true, minLeadMs: 500, leadRttFactor: 2, nudgeStartMs: Infinity, seekCorrectionMs: Infinity, seekCorrectionNoRateMs: Infinity, maxMoveMs: Infinity }
    }),
    base('anchor-openwatchparty-wan', {
      ...wan, engine: { initiatorWaits: true, minLeadMs: 300, leadRttFactor: 0, nudgeStartMs: 40, nudgeStopMs: 40, seekCorrectionMs: 2000, maxMoveMs: Infinity }
    }),
    base('anchor-syncplay-drift100ppm', {
      ...wan, nodes: 2, durationMs: 2 * 3_600_000, users: NOBODY, churn: [],
      clock: (i, rng) => ({ originMs: rng.uniform(0, 1e7), driftPpm: i === 0 ? -50 : 50 }),
      engine: { nudgeStartMs: 1500, nudgeStopMs: 100, nudgeTimeConstantMs: 1e-6, seekCorrectionMs: 4000, maxMoveMs: Infinity }
    })
  ]
}

/**
 * How much later a reliable stream delivers a lost packet: the pause measured across an emulated
 * 100 ms link reached a viewer 344 ms after the action instead of ~107 ms with one packet lost.
 */
export const LOST_PACKET_RETRANSMIT_MS = 240

/**
 * A busy room at 100 ms RTT where one in five copies of a control event its author sends is lost
 * on the way and comes a retransmission later; `secondPath: false` is the mesh before control
 * events were relayed over every other peer at once (only around missing links), `datagram: false`
 * before they also went as datagrams (each lost as often, independently).
 */
export function lostEventScenario (name: string, secondPath: boolean, datagram: boolean, nodes = 3): ScenarioSpec {
  return base(name, {
    rttMs: 100,
    jitterMs: 30,
    nodes,
    eventLoss: { share: 0.2, retransmitMs: LOST_PACKET_RETRANSMIT_MS },
    eventSecondPath: secondPath,
    eventDatagram: datagram
  })
}

/**
 * A random world for property tests: 2-5 nodes, varied links (some lossy, duplicated, jittery),
 * clock drift, mpv-like or worse players (without Rate, slow to obey, and unless
 * `stalePlayers` is false, VLC-like stale positions without Seeked), a busy room, churn, maybe a
 * partition or a partial mesh. Ends with a quiet stretch so that convergence can be judged.
 */
export function randomScenario (rng: Rng, opts: { durationMs?: number, stalePlayers?: boolean } = {}): ScenarioSpec {
  const durationMs = opts.durationMs ?? 120_000
  const kinds = opts.stalePlayers === false ? ['mpv', 'mpv', 'no-rate', 'slow'] as const : ['mpv', 'mpv', 'no-rate', 'stale', 'slow'] as const
  const nodes = rng.int(2, 5)
  const linkFor = (): LinkModel => {
    const rttMs = rng.pick([2, 20, 60, 100, 200])
    return link(rttMs, rng.uniform(0, rttMs * 0.4), {
      // Mild asymmetry only: two-way clock sync cannot see asymmetry (see the `asymmetric` bench).
      forwardMs: rttMs / 2 * rng.uniform(0.95, 1.05),
      loss: rng.chance(0.3) ? rng.uniform(0, 0.05) : 0,
      retransmitMs: rng.chance(0.5) ? rttMs + 200 : null,
      duplicate: rng.uniform(0, 0.02)
    })
  }
  const links = new Map<string, LinkModel>()
  const broken: Array<[number, number]> = []
  if (nodes >= 4 && rng.chance(0.3)) broken.push([0, nodes - 1]) // a partial mesh that stays connected
  const churnEvents: ChurnEvent[] = []
  if (rng.chance(0.5)) churnEvents.push({ node: rng.int(0, nodes - 1), atMs: rng.uniform(20_000, 60_000), downMs: rng.uniform(500, 10_000), kind: rng.chance(0.5) ? 'restart' : 'disconnect' })
  const partitions = nodes >= 3 && rng.chance(0.3)
    ? [{ fromMs: rng.uniform(30_000, 50_000), toMs: rng.uniform(55_000, 70_000), group: [0] }]
    : []
  const players = Array.from({ length: nodes }, () => {
    const kind = rng.pick(kinds)
    switch (kind) {
      case 'mpv': return MPV
      case 'no-rate': return { ...MPV, canRate: false }
      case 'stale': return { ...MPV, frameMs: null, staleMs: 500, sendsSeeked: false, rateJumpMs: [0, 0] as [number, number] }
      case 'slow': return { ...MPV, commandMs: [5, 60] as [number, number], seekPlayingMs: [40, 120] as [number, number], startLatencyMs: 40 }
    }
  })
  return {
    name: 'random',
    nodes,
    durationMs,
    link: (a, b) => {
      const k = `${a}-${b}`
      const l = links.get(k) ?? linkFor()
      links.set(k, l)
      return l
    },
    broken,
    partitions,
    // A running monotonic clock does not step; a restarted process (new origin) comes with churn.
    clock: (_i, r) => ({ originMs: r.uniform(0, 1e7), driftPpm: r.uniform(-100, 100) }),
    player: i => players[i] ?? MPV,
    users: { meanIntervalMs: 8000, concurrent: 0.15, burst: 0.1, startMs: 4000, quietEndMs: 30_000 },
    script: START,
    churn: churnEvents
  }
}
