/**
 * The simulated world: N sync engines, each with a clock, a player and a daemon stand-in, on a
 * simulated network, in virtual time. Everything random comes from one seed.
 *
 * The daemon stand-in does what the real daemon does with the engine's actions: messages go
 * through the real codec and the mesh's relay rule (a broadcast is relayed with dedup to peers not
 * linked to its author, so a partial mesh still delivers; a control event straight from its
 * author is relayed once to every other peer, its second path past a lost packet),
 * player commands run in order with their latency, the latest `wake` wins. The mesh's liveness is
 * modelled on what was measured (peer-down ~3 s after a link dies, reconnect ~1 s after it heals).
 *
 * The world also measures: skew between true player positions, action latency, offset error
 * against the true clocks, rejoin time, corrective seeks.
 */
import { SyncEngine } from '../src/sync/engine.js'
import type { SyncEngineOptions } from '../src/sync/config.js'
import { decodeSyncMessage, encodeSyncMessage, isControlEvent } from '../src/sync/codec.js'
import { compareStamps } from '../src/sync/lamport.js'
import type { Action, Input, Media, NodeId, PlayerCommand, Stamp, SyncMessage, UserAction } from '../src/sync/types.js'
// The daemon's driver reads the player POLL_AFTER_CHANGE_MS after any command or user action (a
// start is judged on it), and every POLL_PAUSED_MS while paused; while playing, the simulated
// player model's `pollMs` says how often (the cadence of the player layer being modelled).
import { POLL_AFTER_CHANGE_MS, POLL_PAUSED_MS } from '../src/daemon/driver.js'
import { SimClock, type ClockModel } from './clock.js'
import { EventQueue } from './queue.js'
import { SimNetwork, type LinkModel, type Partition } from './network.js'
import { SimPlayer, type PlayerModel } from './player.js'
import { Rng } from './rng.js'
import { percentile } from './stats.js'

/** Keepalive ping period (the mesh's clock probe). */
export const PING_INTERVAL_MS = 1000
/**
 * The mesh sends a clock probe as soon as a peer is ready, not only on the next 1 s tick: a joiner
 * needs an offset before it can start on the timeline (see docs/sync.md, "What the mesh must do").
 */
export const PROBE_ON_CONNECT = true
/** A dead link is noticed this long after it died (1 s pings, 3 s stream timeout: measured 2.96 s). */
export const DETECT_MS = 3000
/** A healed link is back this long after it healed (the dialer's first retry backoff). */
export const RECONNECT_MS = 1000
/** Nodes connect this long after they start (DHT lookup on a testnet). */
export const CONNECT_MS: [number, number] = [100, 600]
/** Players count as in step within one frame at 25 fps. */
export const IN_SYNC_MS = 40
/** After a disturbance (action, heal, rejoin) skew is not sampled for this long. */
export const SETTLE_MS = 3000
/** Skew is sampled this often in settled periods. */
export const SKEW_SAMPLE_MS = 100
/** Pending latency measurements are checked at this resolution. */
export const WATCH_STEP_MS = 5
/** A measurement still pending after this is recorded as this long (a failure). */
export const MEASURE_TIMEOUT_MS = 10_000
/** Offsets are compared with the truth this often, once a link has been up this long. */
export const OFFSET_SAMPLE_MS = 1000
export const OFFSET_WARMUP_MS = 5000
/** How often a daemon whose OS keeps its wall clock synced reads its clock against it again. */
export const OS_CLOCK_CHECK_MS = 10_000
/** Dedup memory of flooded messages per node (the mesh's seen-set). */
export const SEEN_LIMIT = 4096

export type UserKind = 'play' | 'pause' | 'seek' | 'rate'

export interface UserModel {
  /** Mean time between user actions in the room; 0: nobody touches anything after the start. */
  meanIntervalMs: number
  /** Share of actions answered by someone else within 0-100 ms. */
  concurrent: number
  /** Share of actions that are bursts (scrubbing, mashing play/pause). */
  burst: number
  /** No random actions before this or in the last `quietEndMs` of the run. */
  startMs: number
  quietEndMs: number
}

export interface ScriptedAction {
  atMs: number
  node: number
  kind: UserKind
  positionMs?: number
  rate?: number
}

export interface ChurnEvent {
  node: number
  atMs: number
  downMs: number
  /** `disconnect`: the network drops (the process lives on); `restart`: the process dies and comes back with a new clock origin. */
  kind: 'disconnect' | 'restart'
}

export interface ScenarioSpec {
  name: string
  nodes: number
  durationMs: number
  link: (a: number, b: number, rng: Rng) => LinkModel
  broken?: Array<[number, number]>
  partitions?: Partition[]
  clock: (i: number, rng: Rng) => ClockModel
  player: (i: number, rng: Rng) => PlayerModel
  users: UserModel
  script?: ScriptedAction[]
  /** Times (ms) at which to record the players' skew, whatever is going on (`probedSkew`). */
  skewProbesMs?: number[]
  churn?: ChurnEvent[]
  engine?: Omit<SyncEngineOptions, 'nodeId'>
  media?: Media
  /**
   * Control events lost on their way from the author: this share of the copies an author sends
   * (only over `link`, when set) arrives `retransmitMs` late, as a reliable stream resends it.
   */
  eventLoss?: { share: number, retransmitMs: number, link?: [number, number] }
  /** false: the mesh as it was, relaying control events only around missing links. Default true. */
  eventSecondPath?: boolean
  /**
   * false: the mesh as it was, sending control events on the stream only. Default true: each copy
   * also goes as a datagram, lost as often as a packet of the stream (`eventLoss`) but never late.
   */
  eventDatagram?: boolean
}

export interface RunResult {
  name: string
  seed: number
  nodes: number
  durationMs: number
  skewMs: number[]
  /** When the largest settled skew was seen (to look at it with a trace). */
  worstSkew: { atMs: number, skewMs: number }
  /** The slowest action (to look at it with a trace). */
  worstAction: { atMs: number, latencyMs: number }
  /** Largest settled skew between paused players (judged by the frame shown). */
  pausedSkewMaxMs: number
  /** Settled samples where players disagreed on playing/paused. */
  disagreeingSamples: number
  actionLatencyMs: number[]
  /** The same latencies by the kind of action (a timeout counts as MEASURE_TIMEOUT_MS). */
  actionLatencyByKindMs: Record<UserKind, number[]>
  actionTimeouts: number
  /**
   * Every measured action: when, by whom, what, how long until it was done (MEASURE_TIMEOUT_MS for
   * a timeout), and how it was judged: `own` (the room holds the actor's intent), `winner` (a
   * concurrent action won the Lamport order and the room converged on it), `timeout`.
   */
  actions: Array<{ atMs: number, node: number, kind: UserKind, latencyMs: number, judged: 'own' | 'winner' | 'timeout' }>
  offsetErrorMs: number[]
  rejoinMs: number[]
  rejoinTimeouts: number
  correctiveSeeks: number
  rateCommands: number
  /** Control events broadcast by all engines (bursts must stay bounded). */
  eventsSent: number
  /** Pause/play commands the engines issued (not the users). */
  engineStarts: number
  userActions: number
  /** The skew of the included players at each of `skewProbesMs`, playing or not. */
  probedSkew: Array<{ atMs: number, skewMs: number, playing: boolean[] }>
  final: { converged: boolean, stamps: string[], skewMs: number, playing: boolean[] }
}

const DEFAULT_MEDIA: Media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_500_000 }

interface SimNode {
  index: number
  id: NodeId
  clock: SimClock
  clockModel: ClockModel
  player: SimPlayer
  engine: SyncEngine | null
  /** Incremented on restart: events for an older incarnation are ignored. */
  life: number
  wakeGen: number
  /** The latest poll scheduled wins (the daemon re-arms one timer). */
  pollGen: number
  commandsBusyUntilMs: number
  seen: Set<number>
  seenOrder: number[]
}

interface Pending {
  kind: 'action' | 'rejoin'
  node: number
  fromMs: number
  /** Index of the last user action when it started: a newer action voids an action measurement. */
  actionSeq: number
  /** For actions: the player state the user asked for (playing or paused). */
  playing: boolean | null
  /** For actions: what the user did. */
  action: UserKind | null
  /** For actions: the stamp of the state the actor's engine made of it, once it made one. */
  stamp: Stamp | null
}

type Event = () => void

export class World {
  readonly rng: Rng
  /** Draws which control-event copies are lost (`eventLoss`), apart from every other draw. */
  private readonly lossRng: Rng
  private readonly queue = new EventQueue<Event>()
  private readonly nodes: SimNode[] = []
  private readonly net: SimNetwork
  private readonly connected = new Map<string, number>() // pair -> up since (true ms)
  /** Pair -> the two nodes' lives when it connected (a restarted process gets a new connection). */
  private readonly connLife = new Map<string, string>()
  private readonly idToIndex = new Map<NodeId, number>()
  private nowMs = 0
  private msgSeq = 0
  private actionSeq = 0
  private disturbedAtMs = 0
  private pending: Pending[] = []
  private watching = false

  private readonly result: RunResult

  /** Optional: sees every engine call (replay --trace). */
  trace: ((tMs: number, node: number, input: Input, actions: Action[], positionsMs: number[]) => void) | null = null

  constructor (readonly spec: ScenarioSpec, readonly seed: number) {
    this.rng = new Rng(seed)
    this.lossRng = this.rng.fork('event-loss')
    const netRng = this.rng.fork('net')
    const linkRng = this.rng.fork('links')
    const partitions = [
      ...(spec.partitions ?? []),
      ...(spec.churn ?? []).filter(c => c.kind === 'disconnect').map(c => ({ fromMs: c.atMs, toMs: c.atMs + c.downMs, group: [c.node] }))
    ]
    this.net = new SimNetwork(spec.nodes, (a, b) => spec.link(a, b, linkRng), spec.broken ?? [], partitions, netRng)
    const idRng = this.rng.fork('ids')
    const clockRng = this.rng.fork('clocks')
    const playerRng = this.rng.fork('players')
    for (let i = 0; i < spec.nodes; i++) {
      let id = ''
      for (let j = 0; j < 32; j++) id += idRng.int(0, 255).toString(16).padStart(2, '0')
      const clockModel = spec.clock(i, clockRng)
      const clock = new SimClock(clockModel)
      const player = new SimPlayer(spec.player(i, playerRng), spec.media ?? DEFAULT_MEDIA, clock, playerRng.fork(`p${i}`))
      this.nodes.push({ index: i, id, clock, clockModel, player, engine: null, life: 0, wakeGen: 0, pollGen: 0, commandsBusyUntilMs: 0, seen: new Set(), seenOrder: [] })
      this.idToIndex.set(id, i)
    }
    this.result = {
      name: spec.name, seed, nodes: spec.nodes, durationMs: spec.durationMs,
      skewMs: [], worstSkew: { atMs: 0, skewMs: 0 }, worstAction: { atMs: 0, latencyMs: 0 }, pausedSkewMaxMs: 0, disagreeingSamples: 0, actionLatencyMs: [],
      actionLatencyByKindMs: { play: [], pause: [], seek: [], rate: [] }, actionTimeouts: 0, actions: [], offsetErrorMs: [],
      rejoinMs: [], rejoinTimeouts: 0, correctiveSeeks: 0, rateCommands: 0, eventsSent: 0, engineStarts: 0, userActions: 0, probedSkew: [],
      final: { converged: false, stamps: [], skewMs: Infinity, playing: [] }
    }
  }

  /** Runs the whole scenario and returns what was measured. */
  run (): RunResult {
    const spec = this.spec
    for (const node of this.nodes) this.at(0, () => this.boot(node))
    for (const p of this.net.partitionList) {
      this.at(p.fromMs + DETECT_MS, () => this.reviewLinks())
      this.at(p.toMs + RECONNECT_MS, () => this.reviewLinks())
      this.at(p.toMs, () => this.disturbed())
    }
    for (const p of spec.partitions ?? []) {
      const first = p.group[0]
      if (first !== undefined) this.at(p.toMs + RECONNECT_MS, () => this.startPending('rejoin', first))
    }
    // A heal merges two histories: the side with the higher stamp wins, not the latest action, so
    // an action still being measured across a heal says nothing about latency: void it.
    for (const p of this.net.partitionList) this.at(p.toMs + RECONNECT_MS, () => { this.pending = this.pending.filter(x => x.kind !== 'action') })
    for (const c of spec.churn ?? []) {
      if (c.kind === 'restart') {
        this.at(c.atMs, () => this.kill(this.node(c.node)))
        this.at(c.atMs + c.downMs, () => this.boot(this.node(c.node)))
      } else {
        this.at(c.atMs + c.downMs + RECONNECT_MS, () => this.startPending('rejoin', c.node))
      }
    }
    for (const s of spec.script ?? []) this.at(s.atMs, () => this.userAct(s.node, s.kind, s.positionMs, s.rate))
    for (const t of spec.skewProbesMs ?? []) this.at(t, () => this.probeSkew())
    if (spec.users.meanIntervalMs > 0) this.scheduleUser(spec.users.startMs)
    this.at(SKEW_SAMPLE_MS, () => this.sampleSkew())
    this.at(OFFSET_SAMPLE_MS, () => this.sampleOffsets())

    for (;;) {
      const next = this.queue.pop()
      if (next === null || next.atMs > spec.durationMs) break
      this.nowMs = next.atMs
      next.item()
    }
    this.nowMs = spec.durationMs
    for (const p of this.pending) {
      if (this.nowMs - p.fromMs >= MEASURE_TIMEOUT_MS) this.recordTimeout(p)
    }
    this.result.final = this.finalState()
    return this.result
  }

  private at (tMs: number, fn: Event): void {
    this.queue.push(Math.max(tMs, this.nowMs), fn)
  }

  private node (i: number): SimNode {
    return this.nodes[i] as SimNode
  }

  private disturbed (): void {
    this.disturbedAtMs = this.nowMs
  }

  // ---- node lifecycle ---------------------------------------------------------------------------

  private boot (node: SimNode): void {
    node.life++
    if (node.life > 1) {
      // A new process: its monotonic clock starts near zero again.
      node.clockModel = { ...node.clockModel, originMs: -this.nowMs * (1 + node.clockModel.driftPpm / 1e6) + this.rng.uniform(0, 50), steps: [] }
      node.clock = new SimClock(node.clockModel)
      node.player.useClock(node.clock)
    }
    node.engine = new SyncEngine({ ...this.spec.engine, nodeId: node.id })
    this.disturbed()
    node.wakeGen++
    const life = node.life
    this.feed(node, { type: 'player-attached', abilities: node.player.abilities(), observed: node.player.read(this.nowMs) })
    const first = this.rng.uniform(...CONNECT_MS)
    this.at(this.nowMs + first, () => { if (node.life === life) this.reviewLinks() })
    if (node.life > 1) this.at(this.nowMs + first, () => { if (node.life === life) this.startPending('rejoin', node.index) })
    this.schedulePoll(node, life, 0)
    this.schedulePings(node, life)
    this.tellOsClock(node, life)
  }

  /** The daemon tells its engine what the OS says of the wall clock, at start and every OS_CLOCK_CHECK_MS. */
  private tellOsClock (node: SimNode, life: number): void {
    const errorMs = node.clockModel.osWallErrorMs
    if (errorMs === undefined || node.life !== life) return
    this.feed(node, { type: 'os-clock', synced: true, clockMinusWallMs: node.clock.local(this.nowMs) - (this.nowMs + errorMs) })
    this.at(this.nowMs + OS_CLOCK_CHECK_MS, () => this.tellOsClock(node, life))
  }

  private kill (node: SimNode): void {
    node.engine = null
    node.life++
    // Peers notice the dead connection after the stream timeout.
    this.at(this.nowMs + DETECT_MS, () => this.reviewLinks())
  }

  /** Brings the mesh's view of connections up to date with the network and the processes. */
  private reviewLinks (): void {
    for (let a = 0; a < this.nodes.length; a++) {
      for (let b = a + 1; b < this.nodes.length; b++) {
        const na = this.node(a)
        const nb = this.node(b)
        const k = `${a}-${b}`
        const alive = na.engine !== null && nb.engine !== null
        const want = alive && this.net.usable(a, b, this.nowMs)
        const lifeKey = `${na.life}/${nb.life}`
        const up = this.connected.has(k)
        if (up && (!want || this.connLife.get(k) !== lifeKey)) {
          this.connected.delete(k)
          if (na.engine !== null && this.connLife.get(k)?.split('/')[0] === String(na.life)) this.feed(na, { type: 'peer-down', peer: nb.id, reason: 'lost' })
          if (nb.engine !== null && this.connLife.get(k)?.split('/')[1] === String(nb.life)) this.feed(nb, { type: 'peer-down', peer: na.id, reason: 'lost' })
        }
        if (want && !this.connected.has(k)) {
          this.connected.set(k, this.nowMs)
          this.connLife.set(k, lifeKey)
          this.feed(na, { type: 'peer-up', peer: nb.id })
          this.feed(nb, { type: 'peer-up', peer: na.id })
          if (PROBE_ON_CONNECT) {
            this.ping(na, nb, na.life)
            this.ping(nb, na, nb.life)
          }
        }
      }
    }
  }

  private isConnected (a: number, b: number): boolean {
    return this.connected.has(a < b ? `${a}-${b}` : `${b}-${a}`)
  }

  private connectedSince (a: number, b: number): number | null {
    return this.connected.get(a < b ? `${a}-${b}` : `${b}-${a}`) ?? null
  }

  // ---- the daemon stand-in ----------------------------------------------------------------------

  private feed (node: SimNode, input: Input): void {
    const engine = node.engine
    if (engine === null) return
    const actions = engine.handle(input, node.clock.local(this.nowMs))
    if (this.trace !== null) this.trace(this.nowMs, node.index, input, actions, this.nodes.map(n => n.player.position(this.nowMs)))
    this.execute(node, actions)
  }

  private execute (node: SimNode, actions: Action[]): void {
    const life = node.life
    for (const a of actions) {
      switch (a.type) {
        case 'broadcast':
          if (a.msg.type === 'event') this.result.eventsSent++
          this.flood(node.index, node.index, node.index, this.msgSeq++, encodeSyncMessage(a.msg))
          break
        case 'send': {
          const to = this.idToIndex.get(a.to)
          if (to !== undefined && this.isConnected(node.index, to)) this.transmit(node.index, to, encodeSyncMessage(a.msg), node.index, null, false)
          break
        }
        case 'player':
          this.command(node, a.cmd)
          this.schedulePoll(node, life, POLL_AFTER_CHANGE_MS)
          break
        case 'wake': {
          const gen = ++node.wakeGen
          this.at(node.clock.trueAt(a.atMs), () => {
            if (node.life === life && node.wakeGen === gen) this.feed(node, { type: 'tick' })
          })
          break
        }
        case 'notice':
          if (a.notice.kind === 'correction' && a.notice.how === 'seek') this.result.correctiveSeeks++
          break
      }
    }
  }

  /** Commands run one after another, each taking effect after the player's latency. */
  private command (node: SimNode, cmd: PlayerCommand): void {
    if (cmd.op === 'rate') this.result.rateCommands++
    if (cmd.op === 'play') this.result.engineStarts++
    const startMs = Math.max(this.nowMs, node.commandsBusyUntilMs)
    const effectMs = startMs + node.player.latencyOf(cmd)
    node.commandsBusyUntilMs = effectMs
    if (cmd.op !== 'pause') {
      this.at(effectMs, () => node.player.apply(cmd, this.nowMs))
      return
    }
    // As the daemon does: a pause then seeks to where it was asked to rest, once it is paused.
    const seekMs = effectMs + this.rng.uniform(...node.player.model.seekPausedMs)
    node.commandsBusyUntilMs = seekMs
    this.at(effectMs, () => {
      node.player.apply(cmd, this.nowMs)
      node.player.seekSent(cmd.positionMs, seekMs)
    })
    const life = node.life
    this.at(seekMs, () => {
      node.player.seek(cmd.positionMs, this.nowMs)
      // The player says it landed (Seeked): the daemon reads it at once.
      if (node.player.model.sendsSeeked && node.life === life) this.schedulePoll(node, life, 0)
    })
  }

  /**
   * The mesh's relay rule (swarm-mesh.ts): the author sends to every peer; a receiver relays to
   * peers not linked to the author, and, when it got a control event straight from its author,
   * to every other peer once.
   */
  private flood (origin: number, from: number, via: number, id: number, bytes: Uint8Array): void {
    const n = this.node(via)
    this.remember(n, id)
    const event = isControlEvent(bytes)
    const urgent = via !== origin && from === origin && this.spec.eventSecondPath !== false && event
    // Datagram copies go with the copies the mesh sends as urgent: the author's and the second paths.
    const datagram = event && this.spec.eventDatagram !== false && (via === origin || urgent)
    for (let to = 0; to < this.nodes.length; to++) {
      if (to === via || to === from || to === origin || !this.isConnected(via, to)) continue
      if (via === origin || urgent || !this.isConnected(to, origin)) this.transmit(via, to, bytes, origin, id, via === origin && event, datagram)
    }
  }

  private remember (n: SimNode, id: number): void {
    n.seen.add(id)
    n.seenOrder.push(id)
    if (n.seenOrder.length > SEEN_LIMIT) n.seen.delete(n.seenOrder.shift() as number)
  }

  /**
   * One message over one link; `id` set for flooded broadcasts; `event`: a control event its author
   * sends; `datagram`: a copy also goes as a datagram (lost as a packet is, never retransmitted).
   */
  private transmit (from: number, to: number, bytes: Uint8Array, author: number, id: number | null, event: boolean, datagram = false): void {
    const lost = this.spec.eventLoss
    const onLink = lost?.link === undefined || (lost.link[0] === from && lost.link[1] === to)
    const lateMs = event && lost !== undefined && onLink && this.lossRng.chance(lost.share) ? lost.retransmitMs : 0
    const datagramLost = datagram && lost !== undefined && onLink && this.lossRng.chance(lost.share)
    const transits = this.net.transit(from, to, this.nowMs)
    const delays = transits.map(transitMs => transitMs + lateMs)
    if (datagram && !datagramLost && transits.length > 0) delays.push(Math.min(...transits))
    for (const delay of delays) {
      this.at(this.nowMs + delay, () => {
        if (!this.net.usable(from, to, this.nowMs) || !this.isConnected(from, to)) return
        const receiver = this.node(to)
        if (receiver.engine === null) return
        if (id !== null) {
          if (receiver.seen.has(id)) return
          this.flood(author, from, to, id, bytes) // relay first, as the mesh does
        }
        let msg: SyncMessage
        try {
          msg = decodeSyncMessage(bytes)
        } catch (err) {
          throw new Error(`seed ${this.seed}: the codec rejected its own output: ${String(err)}`)
        }
        this.feed(receiver, { type: 'message', from: this.node(from).id, author: this.node(author).id, msg })
      })
    }
  }

  /** Reads the player after `delayMs`, then on as the daemon does; replaces any poll pending. */
  private schedulePoll (node: SimNode, life: number, delayMs: number): void {
    const gen = ++node.pollGen
    this.at(this.nowMs + delayMs, () => {
      if (node.life !== life || node.pollGen !== gen) return
      const observed = node.player.read(this.nowMs)
      this.feed(node, { type: 'player-status', observed })
      // A reading is followed by the regular poll, even when its step issued a command (that
      // command's 50 ms read-back is replaced). The daemon's driver keeps the earlier read instead;
      // the simulator has not been moved to that rule (doing so moves every bench figure).
      if (node.life === life) this.schedulePoll(node, life, observed.playing ? this.rng.uniform(...node.player.model.pollMs) : POLL_PAUSED_MS)
    })
  }

  private schedulePings (node: SimNode, life: number): void {
    this.at(this.nowMs + PING_INTERVAL_MS * this.rng.uniform(0.9, 1.1), () => {
      if (node.life !== life) return
      for (let peer = 0; peer < this.nodes.length; peer++) {
        if (peer !== node.index && this.isConnected(node.index, peer)) this.ping(node, this.node(peer), life)
      }
      this.schedulePings(node, life)
    })
  }

  /** One four-timestamp exchange over the simulated links. */
  private ping (a: SimNode, b: SimNode, life: number): void {
    const t1 = a.clock.local(this.nowMs)
    const [out] = this.net.transit(a.index, b.index, this.nowMs)
    if (out === undefined) return
    this.at(this.nowMs + out, () => {
      if (b.engine === null) return
      const t2 = b.clock.local(this.nowMs)
      const holdMs = this.rng.uniform(0.02, 0.2)
      const t3 = t2 + holdMs
      const [back] = this.net.transit(b.index, a.index, this.nowMs)
      if (back === undefined) return
      this.at(this.nowMs + holdMs + back, () => {
        if (a.life !== life) return
        this.feed(a, { type: 'clock-sample', peer: b.id, t1, t2, t3, t4: a.clock.local(this.nowMs) })
      })
    })
  }

  // ---- users ------------------------------------------------------------------------------------

  private scheduleUser (fromMs: number): void {
    const u = this.spec.users
    const t = fromMs + this.rng.exp(u.meanIntervalMs)
    if (t > this.spec.durationMs - u.quietEndMs) return
    this.at(t, () => {
      const online = this.nodes.filter(n => n.engine !== null)
      if (online.length > 0) {
        const node = this.rng.pick(online)
        if (this.rng.chance(u.burst)) this.burst(node.index)
        else this.userAct(node.index, this.pickKind(node))
        if (this.rng.chance(u.concurrent) && online.length > 1) {
          const other = this.rng.pick(online.filter(n => n !== node))
          this.at(this.nowMs + this.rng.uniform(0, 100), () => this.userAct(other.index, this.pickKind(other)))
        }
      }
      this.scheduleUser(this.nowMs)
    })
  }

  private pickKind (node: SimNode): UserKind {
    const r = this.rng.next()
    if (!node.player.playing) return r < 0.7 ? 'play' : 'seek'
    if (r < 0.4) return 'pause'
    // Rate changes only where every player can follow them (one without Rate cannot play at 1.25x).
    if (r < 0.85 || !this.nodes.every(n => n.player.model.canRate)) return 'seek'
    return 'rate'
  }

  /** Scrubbing (many seeks in a second) or mashing play/pause. */
  private burst (i: number): void {
    const scrub = this.rng.chance(0.5)
    const count = this.rng.int(5, 12)
    for (let k = 0; k < count; k++) {
      this.at(this.nowMs + k * this.rng.uniform(60, 120), () => {
        const node = this.node(i)
        if (scrub) this.userAct(i, 'seek')
        else this.userAct(i, node.player.playing ? 'pause' : 'play')
      })
    }
  }

  /** The user does something in the player; the daemon notices a little later. */
  private userAct (i: number, kind: UserKind, positionMs?: number, rate?: number): void {
    const node = this.node(i)
    if (node.engine === null) return
    const p = node.player
    switch (kind) {
      case 'play': p.setPlaying(true, this.nowMs); break
      case 'pause': p.setPlaying(false, this.nowMs); break
      case 'seek': p.seek(positionMs ?? this.rng.uniform(0, 3_600_000), this.nowMs); break
      case 'rate': p.setRate(rate ?? this.rng.pick([0.75, 1, 1.25, 1.5].filter(r => r !== p.rate)), this.nowMs); break
    }
    this.result.userActions++
    this.actionSeq++
    this.disturbed()
    // An action on a node cut off from the room cannot reach it: not a latency to measure.
    if (this.included(this.nowMs).includes(node)) this.startPending('action', i, kind === 'play' || kind === 'pause', kind)
    else this.pending = this.pending.filter(x => x.kind !== 'action')
    const m = p.model
    // Without Seeked, a seek is noticed by polling once a reading shows it (after a stale player's refresh).
    const noticeMs = kind === 'seek'
      ? (m.sendsSeeked ? (p.playing ? this.rng.uniform(20, 30) : this.rng.uniform(2, 4)) : p.visibleFrom(this.nowMs) - this.nowMs + this.rng.uniform(0, m.pollMs[1]))
      : this.rng.uniform(...m.noticeMs)
    const life = node.life
    const seq = this.actionSeq
    this.at(this.nowMs + noticeMs, () => {
      if (node.life !== life) return
      const action: UserAction = { kind, observed: p.read(this.nowMs) }
      this.feed(node, { type: 'user', action })
      this.noteActionStamp(node, seq)
      this.schedulePoll(node, life, POLL_AFTER_CHANGE_MS)
    })
  }

  // ---- measurements -----------------------------------------------------------------------------

  /** Nodes whose players count: running, and not cut off from the rest. */
  private included (tMs: number): SimNode[] {
    return this.nodes.filter(n => n.engine !== null && !this.net.partitionList.some(p => tMs >= p.fromMs && tMs < p.toMs + RECONNECT_MS && p.group.includes(n.index)))
  }

  private probeSkew (): void {
    const t = this.nowMs
    const nodes = this.included(t)
    const pos = nodes.map(n => n.player.shownPosition(t))
    const skewMs = pos.length === 0 ? 0 : Math.max(...pos) - Math.min(...pos)
    this.result.probedSkew.push({ atMs: t, skewMs, playing: nodes.map(n => n.player.playing) })
  }

  private sampleSkew (): void {
    const t = this.nowMs
    if (t - this.disturbedAtMs >= SETTLE_MS && this.pending.length === 0) {
      const nodes = this.included(t)
      if (nodes.length >= 2) {
        const playing = nodes.map(n => n.player.playing)
        const pos = nodes.map(n => n.player.shownPosition(t))
        const skewMs = Math.max(...pos) - Math.min(...pos)
        if (playing.some(p => p !== playing[0])) {
          this.result.disagreeingSamples++
        } else if (playing[0] === true) {
          this.result.skewMs.push(skewMs)
          if (skewMs > this.result.worstSkew.skewMs) this.result.worstSkew = { atMs: t, skewMs }
        } else {
          this.result.pausedSkewMaxMs = Math.max(this.result.pausedSkewMaxMs, skewMs)
        }
      }
    }
    this.at(t + SKEW_SAMPLE_MS, () => this.sampleSkew())
  }

  private sampleOffsets (): void {
    const t = this.nowMs
    for (const n of this.nodes) {
      if (n.engine === null) continue
      const snap = n.engine.snapshot(n.clock.local(t))
      for (const p of snap.peers) {
        const j = this.idToIndex.get(p.peer)
        if (j === undefined || !p.direct || p.offsetMs === null) continue
        const since = this.connectedSince(n.index, j)
        if (since === null || t - since < OFFSET_WARMUP_MS) continue
        const truth = this.node(j).clock.local(t) - n.clock.local(t)
        this.result.offsetErrorMs.push(Math.abs(p.offsetMs - truth))
      }
    }
    this.at(t + OFFSET_SAMPLE_MS, () => this.sampleOffsets())
  }

  /**
   * `setsPlaying`: the action decides playing or paused (play, pause). A seek or a rate change
   * does not, even when the player happened to be held paused by a start of ours as it was made.
   */
  private startPending (kind: 'action' | 'rejoin', node: number, setsPlaying = false, action: UserKind | null = null): void {
    if (kind === 'rejoin') {
      // A node whose connection came back while it is still cut off by a partition (a random
      // world may overlap the two) rejoins when that heals: measure from then.
      const cutOff = this.net.partitionList.filter(p => this.nowMs >= p.fromMs && this.nowMs < p.toMs + RECONNECT_MS && p.group.includes(node))
      if (cutOff.length > 0) {
        this.at(Math.max(...cutOff.map(p => p.toMs + RECONNECT_MS)), () => this.startPending('rejoin', node))
        return
      }
    }
    if (kind === 'action') this.pending = this.pending.filter(p => p.kind !== 'action')
    const playing = kind === 'action' && setsPlaying ? this.node(node).player.playing : null
    this.pending.push({ kind, node, fromMs: this.nowMs, actionSeq: this.actionSeq, playing, action, stamp: null })
    if (kind === 'rejoin') this.disturbed()
    if (!this.watching) {
      this.watching = true
      this.at(this.nowMs + WATCH_STEP_MS, () => this.watch())
    }
  }

  /**
   * The actor's engine took in the user's action: the state it holds now, if its own, is the one
   * the action made (a burst's coalesced event carries it too). Kept for the watch (wonBy).
   */
  private noteActionStamp (node: SimNode, seq: number): void {
    const pending = this.pending.find(x => x.kind === 'action' && x.actionSeq === seq && x.node === node.index)
    const state = node.engine?.snapshot(node.clock.local(this.nowMs)).state ?? null
    if (pending !== undefined && state != null && state.stamp.nodeId === node.id) pending.stamp = state.stamp
  }

  private watch (): void {
    const t = this.nowMs
    const nodes = this.included(t)
    const still: Pending[] = []
    for (const p of this.pending) {
      if (p.kind === 'action' && p.actionSeq !== this.actionSeq) continue // superseded: not measurable
      const ref = this.node(p.node)
      const own = ref.engine !== null && (p.playing === null || ref.player.playing === p.playing) &&
        this.inStepWith(ref, p.kind === 'action' ? nodes : nodes.filter(n => n !== ref), t)
      const winner = !own && p.kind === 'action' && this.wonBy(p, nodes, t)
      if (own || winner) {
        if (p.kind === 'action') {
          this.result.actionLatencyMs.push(t - p.fromMs)
          if (p.action !== null) {
            this.result.actionLatencyByKindMs[p.action].push(t - p.fromMs)
            this.result.actions.push({ atMs: p.fromMs, node: p.node, kind: p.action, latencyMs: t - p.fromMs, judged: own ? 'own' : 'winner' })
          }
          if (t - p.fromMs > this.result.worstAction.latencyMs) this.result.worstAction = { atMs: p.fromMs, latencyMs: t - p.fromMs }
        }
        else this.result.rejoinMs.push(t - p.fromMs)
        this.disturbed()
      } else if (t - p.fromMs >= MEASURE_TIMEOUT_MS) {
        this.recordTimeout(p)
      } else {
        still.push(p)
      }
    }
    this.pending = still
    if (still.length > 0) this.at(t + WATCH_STEP_MS, () => this.watch())
    else this.watching = false
  }

  private recordTimeout (p: Pending): void {
    if (p.kind === 'action') {
      this.result.actionTimeouts++
      this.result.actionLatencyMs.push(MEASURE_TIMEOUT_MS)
      if (p.action !== null) {
        this.result.actionLatencyByKindMs[p.action].push(MEASURE_TIMEOUT_MS)
        this.result.actions.push({ atMs: p.fromMs, node: p.node, kind: p.action, latencyMs: MEASURE_TIMEOUT_MS, judged: 'timeout' })
      }
      this.result.worstAction = { atMs: p.fromMs, latencyMs: MEASURE_TIMEOUT_MS }
    } else {
      this.result.rejoinTimeouts++
      this.result.rejoinMs.push(MEASURE_TIMEOUT_MS)
    }
  }

  /**
   * An action made at about the same time as another viewer's (neither had heard of the other's)
   * lost the Lamport order: the room rightly ends on the winner, never on this actor's intent. It
   * is done once the room has converged on that outcome: every engine holds the same state, newer
   * than the one the action made, and the players agree on playing and are within a frame.
   */
  private wonBy (p: Pending, nodes: SimNode[], t: number): boolean {
    const own = p.stamp
    const first = nodes[0]
    // The players first: cheap, and false for most of an action's way.
    if (own === null || first === undefined || !this.inStepWith(first, nodes.slice(1), t)) return false
    let held: Stamp | null = null
    for (const n of nodes) {
      const s = n.engine?.snapshot(n.clock.local(t)).state?.stamp ?? null
      if (s === null || (held !== null && compareStamps(s, held) !== 0)) return false
      held = s
    }
    return held !== null && compareStamps(held, own) > 0
  }

  /** `ref` and every node in `others` play (or not) alike, within one frame of each other. */
  private inStepWith (ref: SimNode, others: SimNode[], t: number): boolean {
    const pos = ref.player.shownPosition(t)
    if (others.length === 0) return true
    for (const n of others) {
      if (n.player.playing !== ref.player.playing) return false
      if (Math.abs(n.player.shownPosition(t) - pos) > IN_SYNC_MS) return false
    }
    return true
  }

  private finalState (): RunResult['final'] {
    const t = this.nowMs
    const nodes = this.nodes.filter(n => n.engine !== null)
    const stamps = nodes.map(n => {
      const s = n.engine?.snapshot(n.clock.local(t)).state
      return s == null ? 'none' : `${s.stamp.lamport}:${s.stamp.nodeId.slice(0, 8)}`
    })
    const pos = nodes.map(n => n.player.shownPosition(t))
    const skewMs = pos.length === 0 ? 0 : Math.max(...pos) - Math.min(...pos)
    const playing = nodes.map(n => n.player.playing)
    const converged = stamps.every(s => s === stamps[0] && s !== 'none') && playing.every(p => p === playing[0]) && skewMs <= IN_SYNC_MS
    return { converged, stamps, skewMs, playing }
  }
}

export function runScenario (spec: ScenarioSpec, seed: number): RunResult {
  return new World(spec, seed).run()
}

export { percentile }
