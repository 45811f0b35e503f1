/**
 * A room across the network test bed: a `watchmesh dht` bootstrap node in a namespace of its own
 * and one viewer per namespace (private bus, real mpv, a real daemon run inside the namespace with
 * `--bootstrap <dht address>`). mpv and its bus talk to the daemon over Unix sockets, which no
 * network namespace separates; only the daemon needs the emulated network. Shared by the
 * test/net tests and bench/net.ts.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { trackDir } from '../fixtures/cleanup.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { diagnosed } from '../fixtures/room-diagnosis.js'
import { spreadMs } from '../../src/demo/skew.js'
import type { SkewSample } from '../fixtures/room-diagnosis.js'
import { maxSkewMs, skewsRelativeMs } from '../fixtures/skew.js'
import { spawnWatchmesh } from '../fixtures/watchmesh.js'
import type { WatchmeshProcess } from '../fixtures/watchmesh.js'
import { waitFor } from '../fixtures/wait.js'
import { startNetBed } from './bed.js'
import type { LinkParams, LinkSpec, NetBed } from './bed.js'

/** One frame at 25 fps: the bar for "in step". */
export const FRAME_MS = 40
export const DHT_NODE = 'dht'
export const DHT_PORT = 49737
/**
 * Deadlines only (a mesh over 300 ms links and 5 % loss takes several DHT round trips; the fact
 * sheet saw 6-8 s at 100 ms with loss): generous, so a busy machine does not fail a good run.
 */
export const MESH_DEADLINE_MS = 60_000
export const FOLLOW_DEADLINE_MS = 15_000
/**
 * Skew in step means this many consecutive measurements (each averages ~0.4 s of samples) at or
 * under one frame: a condition that holds, not one lucky sample.
 */
export const IN_STEP_SAMPLES = 3
/** A freshly started mpv is mended within ~6 s (test/fixtures/skew.ts); after an action, less. */
export const SETTLE_DEADLINE_MS = 30_000

export interface Scenario {
  name: string
  /** What it models, for output. */
  about: string
  viewers: string[]
  link: LinkParams
  links?: LinkSpec[]
  /** Pairs whose link is down both ways: they hear each other only through a relay. */
  cut?: Array<[string, string]>
  /**
   * The skew bar when it cannot be one frame: on an asymmetric path no two-way clock exchange can
   * see the asymmetry, so each offset is off by half of it and the skew follows (docs/sync.md,
   * "What limits the remaining skew"). One frame plus that, never more.
   */
  skewBarMs?: number
  /**
   * Every daemon's `timedatectl` says the wall clock is NTP-synced (a stand-in first on its PATH).
   * True here: the namespaces share one kernel clock, so the wall clocks agree exactly.
   */
  wallClocksSynced?: boolean
}

const ASYM_FAST_MS = 20
const ASYM_SLOW_MS = 100

/** The links of issue 14: every scenario has the bootstrap node and three viewers. */
const ASYM: Scenario = {
  name: 'asym20-100',
  about: `carol's line is asymmetric: ${ASYM_FAST_MS} ms out, ${ASYM_SLOW_MS} ms in; the rest ${ASYM_FAST_MS} ms each way`,
  viewers: ['alice', 'bob', 'carol'],
  link: { delayMs: ASYM_FAST_MS, jitterMs: 2 },
  links: ['dht', 'alice', 'bob'].map(from => ({ from, to: 'carol', delayMs: ASYM_SLOW_MS })),
  skewBarMs: FRAME_MS + (ASYM_SLOW_MS - ASYM_FAST_MS) / 2
}

export const SCENARIOS: Scenario[] = [
  { name: 'rtt100-jitter30', about: '100 ms round trip, +-30 ms jitter', viewers: ['alice', 'bob', 'carol'], link: { delayMs: 50, jitterMs: 30 } },
  { name: 'rtt300', about: '300 ms round trip (intercontinental), +-10 ms jitter', viewers: ['alice', 'bob', 'carol'], link: { delayMs: 150, jitterMs: 10 } },
  { name: 'loss5', about: '5 % loss each way, 40 ms round trip', viewers: ['alice', 'bob', 'carol'], link: { delayMs: 20, jitterMs: 4, loss: 0.05 } },
  ASYM,
  {
    name: 'relay',
    about: 'alice and bob cannot reach each other; both reach carol (20 ms round trip)',
    viewers: ['alice', 'bob', 'carol'],
    link: { delayMs: 10, jitterMs: 2 },
    cut: [['alice', 'bob']]
  }
]

/**
 * Beside SCENARIOS, for the benchmark only (not in test:net): two viewers on one lossy link, where
 * no second path exists; a control event whose packet is lost waits for the stream's
 * retransmission unless its datagram copy gets through.
 */
export const BENCH_ONLY_SCENARIOS: Scenario[] = [
  { name: 'loss10-two', about: 'two viewers, 10 % loss each way, 20 ms round trip', viewers: ['alice', 'bob'], link: { delayMs: 10, jitterMs: 2, loss: 0.1 } },
  // The lopsided line where every OS says its wall clock is synced: the wall clocks narrow the
  // offsets. They agree exactly here (one kernel clock), as two well-synced machines' would across a
  // route lopsided between them; a time service crossing a viewer's own lopsided line would not.
  { ...ASYM, name: 'asym20-100-synced', about: `${ASYM.about}; every OS clock NTP-synced (and exact)`, wallClocksSynced: true }
]

/** A folder holding a `timedatectl` that says the wall clock is NTP-synced (all the daemon asks it). */
async function syncedTimedatectl (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wm-timedatectl-'))
  trackDir(dir)
  await writeFile(join(dir, 'timedatectl'), '#!/bin/sh\necho yes\n')
  await chmod(join(dir, 'timedatectl'), 0o755)
  return dir
}

function cutLinks (cut: Array<[string, string]>): LinkSpec[] {
  return cut.flatMap(([a, b]) => [{ from: a, to: b, up: false }, { from: b, to: a, up: false }])
}

/** A user action at one viewer (mpv's own input, as a person at the keyboard). */
export interface Step {
  kind: 'resume' | 'pause' | 'seek'
  by: string
  /** For seeks: where to, s (far from where the room is, so arriving is unmistakable). */
  toS?: number
}

/** The tests' script: each kind of action by a different viewer; the seek while playing. */
export const TEST_STEPS: Step[] = [
  { kind: 'resume', by: 'alice' },
  { kind: 'seek', by: 'bob', toS: 40 },
  { kind: 'pause', by: 'carol' }
]

/** The benchmark's longer script: every kind by several viewers, seeks paused and playing. */
export const BENCH_STEPS: Step[] = [
  { kind: 'resume', by: 'alice' },
  { kind: 'pause', by: 'bob' },
  { kind: 'seek', by: 'carol', toS: 40 },
  { kind: 'resume', by: 'carol' },
  { kind: 'seek', by: 'bob', toS: 80 },
  { kind: 'pause', by: 'alice' }
]

/** A playing seek counts as arrived within this much past its target (players run on meanwhile). */
const SEEK_ARRIVED_WINDOW_MS = 5000

export class NetRoom {
  bed: NetBed | null = null
  dht: WatchmeshProcess | null = null
  readonly viewers: Viewer[] = []
  /** performance.now() when the daemons were spawned, and when the last expected join was printed. */
  daemonsStartedAtMs = 0
  meshFormedAtMs = 0

  constructor (readonly scenario: Scenario, readonly passphrase: string) {}

  /** Starts the bed, the bootstrap node and the viewers; resolves once the mesh has formed. */
  async start (): Promise<void> {
    const s = this.scenario
    this.bed = await startNetBed({ nodes: [DHT_NODE, ...s.viewers], link: s.link, links: [...(s.links ?? []), ...cutLinks(s.cut ?? [])] })
    const bed = this.bed
    const dhtAddr = bed.addr(DHT_NODE)
    this.dht = spawnWatchmesh(['dht', '--host', dhtAddr, '--port', String(DHT_PORT)], {}, bed.wrap(DHT_NODE))
    const bootstrapArg = `${dhtAddr}:${DHT_PORT}`
    await this.dht.waitForLine(new RegExp(`--bootstrap ${bootstrapArg.replace(/\./g, '\\.')}`))
    const file = await makeMedia({ seconds: 120 })
    const env = s.wallClocksSynced === true ? { PATH: `${await syncedTimedatectl()}:${process.env.PATH ?? ''}` } : undefined
    for (const name of s.viewers) {
      // Files named by scenario too: the next scenario's room starts while this one plays.
      this.viewers.push(new Viewer({ name, passphrase: this.passphrase, bootstrapArg, file, wrap: bed.wrap(name), fileName: `${s.name}-${name}`, env }))
    }
    await Promise.all(this.viewers.map(async v => await v.start()))
    this.daemonsStartedAtMs = performance.now()
    await this.meshFormed()
  }

  /**
   * Every viewer is connected directly to every other it has a working link to: each prints that
   * the other joined, then `watchmesh status` confirms the connections are direct.
   */
  async meshFormed (): Promise<void> {
    await Promise.all(this.viewers.flatMap(v => this.reachable(v.name).map(async n =>
      await v.proc.waitForLine(new RegExp(`\\b${n}\\b.* joined`), { timeoutMs: MESH_DEADLINE_MS }))))
    this.meshFormedAtMs = performance.now()
    // Retried: on a loaded machine a `watchmesh status` process can take longer than its own timeout.
    await waitFor('`watchmesh status` of every viewer listing those as direct connections', async () => {
      const statuses = await Promise.all(this.viewers.map(async v => await v.status()))
      return this.viewers.every((v, i) => {
        const direct = new Set(statuses[i]?.peers.filter(p => p.direct).map(p => p.name))
        return this.reachable(v.name).every(n => direct.has(n))
      })
    }, { timeoutMs: MESH_DEADLINE_MS, intervalMs: 500 })
    if (this.scenario.wallClocksSynced !== true) return
    await waitFor('`watchmesh status` of every viewer saying its clock and each peer\'s are NTP-synced', async () => {
      const statuses = await Promise.all(this.viewers.map(async v => await v.status()))
      return statuses.every(s => s.clockSynced === true && s.peers.every(p => !p.direct || p.clockSynced === true))
    }, { timeoutMs: MESH_DEADLINE_MS, intervalMs: 500 })
  }

  /** The viewers `name` has a link to (all but those cut off from it). */
  reachable (name: string): string[] {
    const cut = this.scenario.cut ?? []
    return this.viewers.map(v => v.name).filter(n => n !== name && !cut.some(([a, b]) => (a === name && b === n) || (b === name && a === n)))
  }

  viewer (name: string): Viewer {
    const v = this.viewers.find(x => x.name === name)
    if (v === undefined) throw new Error(`no viewer ${name}`)
    return v
  }

  async allPlaying (want: boolean): Promise<boolean> {
    const states = await Promise.all(this.viewers.map(async v => !(await v.paused())))
    return states.every(s => s === want)
  }

  async allAt (positionMs: number): Promise<boolean> {
    const positions = await Promise.all(this.viewers.map(async v => await v.positionMs()))
    return positions.every(p => Math.abs(p - positionMs) <= FRAME_MS)
  }

  /**
   * Waits until the players (by their own clocks) stay within one frame (or the scenario's bar) for IN_STEP_SAMPLES
   * measurements in a row; returns the skews seen, last first-in-step. Fails with every skew seen,
   * which viewer was off by how much in the worst ones, and each daemon's last log lines.
   */
  async inStep (label: string, deadlineMs = SETTLE_DEADLINE_MS): Promise<number[]> {
    const barMs = this.scenario.skewBarMs ?? FRAME_MS
    const samples: SkewSample[] = []
    const t0 = performance.now()
    let run = 0
    const wait = waitFor(`${label}: skew <= ${barMs} ms for ${IN_STEP_SAMPLES} measurements in a row`, async () => {
      const skewsMs = await skewsRelativeMs(this.viewers.map(v => v.player))
      samples.push({ atMs: performance.now() - t0, skewsMs })
      run = spreadMs(skewsMs) <= barMs ? run + 1 : 0
      return run >= IN_STEP_SAMPLES
    }, { timeoutMs: deadlineMs, intervalMs: 0 }).catch((err: Error) => {
      throw new Error(`${err.message}; skews seen (ms): ${samples.map(s => spreadMs(s.skewsMs).toFixed(1)).join(', ')}`)
    })
    await diagnosed(this.viewers, wait, () => samples)
    if (process.env.WATCHMESH_TEST_LOGS === '1') {
      // Who was where in each measurement (relative to the first viewer), for a run that passed narrowly.
      const names = this.viewers.map(v => v.name)
      console.log(`# ${this.scenario.name}: ${label}: each measurement, ms after the wait began: skew of ${names.join('/')} from ${names[0] ?? ''}: ` +
        samples.map(s => `${(s.atMs / 1000).toFixed(1)}s ${s.skewsMs.map(x => x.toFixed(0)).join('/')}`).join('; '))
    }
    return samples.map(s => spreadMs(s.skewsMs))
  }

  /** Waits on the room (a deadline); failing, its error shows each daemon's last log lines. */
  async waitFor (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    await diagnosed(this.viewers, waitFor(what, check, { timeoutMs }))
  }

  /**
   * Skew readings taken back to back for durationMs while the room plays on with nobody acting:
   * what a viewer sees between actions (drift, rate nudges, the clocks' error over this link).
   */
  async hold (durationMs: number): Promise<number[]> {
    const seen: number[] = []
    const t0 = performance.now()
    while (performance.now() - t0 < durationMs) seen.push(await maxSkewMs(this.viewers.map(v => v.player)))
    return seen
  }

  /** Each viewer's skew relative to `name`'s player, ms (positive: ahead of it); `name` itself reads 0. */
  async skewsFrom (name: string): Promise<Record<string, number>> {
    const order = [this.viewer(name), ...this.viewers.filter(v => v.name !== name)]
    const skews = await skewsRelativeMs(order.map(v => v.player))
    return Object.fromEntries(order.map((v, i) => [v.name, skews[i] ?? NaN]))
  }

  async perform (step: Step): Promise<void> {
    const v = this.viewer(step.by)
    if (step.kind === 'resume') await v.userResume()
    else if (step.kind === 'pause') await v.userPause()
    else await v.userSeek(step.toS ?? 0)
  }

  /** Every player is in the state the step asked for (read from the players, not the daemons). */
  async reached (step: Step): Promise<boolean> {
    if (step.kind === 'resume') return await this.allPlaying(true)
    if (step.kind === 'pause') return await this.allPlaying(false)
    const targetMs = (step.toS ?? 0) * 1000
    const positions = await Promise.all(this.viewers.map(async v => await v.positionMs()))
    return positions.every(p => p >= targetMs - FRAME_MS && p <= targetMs + SEEK_ARRIVED_WINDOW_MS)
  }

  async close (): Promise<void> {
    await Promise.allSettled(this.viewers.map(async v => await v.close()))
    await this.dht?.stop()
    await this.bed?.close()
  }
}
