/**
 * Peer clocks, composed offsets and presence: what one node knows of the others' clocks and of
 * who is in the room. Pure: the time comes in as an argument.
 *
 * - A direct peer's offset comes from its own OffsetEstimator (offset.ts), fed by the mesh's clock
 *   probes. A node reachable only through others gets a composed offset: our offset to a
 *   neighbour plus the offset that neighbour reported to it (`offsets` messages). With one or two
 *   such paths the smallest summed round trip wins; from MIN_PATHS_FOR_MEDIAN on, the median by
 *   offset, so one neighbour lying about its hop is outvoted. A report with an impossible round
 *   trip (or a non-finite figure) is refused whole.
 * - A node is present while it is a direct peer, or for RELAYED_PRESENCE_TTL_MS after it was last
 *   heard through relayed messages. At most MAX_KNOWN_NODES nodes are remembered: past it the
 *   relayed-only node heard longest ago is forgotten (and the caller told, to forget it too).
 * - A clock restart (a peer's process began again, so did its monotonic clock) is reported to the
 *   caller through `onRestart(node, offsetBeforeMs)`, before what was known of that clock is
 *   dropped: a timeline held on that clock can then be moved onto ours at the same instant.
 * - Where both ends' operating systems keep their wall clocks in step with time servers (each end
 *   says so, with its process clock minus its wall clock: `setOwnOsClock`, `setPeerOsClock`), a
 *   direct offset is narrowed by what the wall clocks say (offset.ts `narrowByOsClocks`): the one
 *   thing a two-way measurement cannot see, a lopsided path, is then bounded by the time servers.
 * - Our own report of offsets goes out every OFFSETS_INTERVAL_MS while some node that matters is
 *   reachable only through others, and at once to the neighbours holding our last report when what
 *   we report changed in kind (a peer came or went, a clock restarted, one we awaited was measured).
 */
import {
  MAX_DEPARTED_PEERS, MAX_KNOWN_NODES, MAX_REPORTED_RTT_MS, MIN_PATHS_FOR_MEDIAN, MIN_REPORTED_RTT_MS,
  OFFSETS_INTERVAL_MS, OS_CLOCK_ERROR_MS, RELAYED_PRESENCE_TTL_MS, REPAIR_MIN_INTERVAL_MS, REPORTED_OFFSET_TTL_MS,
  REPORTED_RESTART_MARGIN_MS
} from './config.js'
import { narrowByOsClocks, OffsetEstimator, type ClockSample, type OffsetEstimate } from './offset.js'
import type { NodeId, OffsetEntry } from './types.js'

/** Offset and round trip to one node (ours to it: its clock minus ours). */
export interface OffsetTo {
  offsetMs: number
  rttMs: number
}

/** Called when `node`'s clock restarted (or may have), with our offset to it from before. */
export type OnClockRestart = (node: NodeId, offsetBeforeMs: number | null) => void

/** What is known of one peer's clock, kept while it is away too (a hand-over converts from it, a reconnect resumes it). */
interface PeerClock {
  estimator: OffsetEstimator
  /** What it said of its OS clock: synced or not (null: nothing said), and if synced its clock minus its wall clock. */
  osSynced: boolean | null
  osClockMinusWallMs: number | null
}

interface DirectPeer extends PeerClock {
  lastRepairMs: number
  lastOffsetsSentMs: number
}

interface ReportedOffsets {
  entries: Map<NodeId, OffsetTo>
  atMs: number
}

export class PeerClocks {
  private readonly peers = new Map<NodeId, DirectPeer>()
  /** Authors heard through messages (direct or relayed), by last local time heard. */
  private readonly heard = new Map<NodeId, number>()
  private readonly reported = new Map<NodeId, ReportedOffsets>()
  /** The clocks of peers that went away: a hand-over converts from them, a reconnect resumes them. */
  private readonly departed = new Map<NodeId, PeerClock>()
  private lastOffsetsRoundMs = -Infinity
  /**
   * What we report changed in kind since it was last sent (a peer came or went, a clock restarted,
   * a clock we awaited was measured): the neighbours holding our last report get the new one at once.
   */
  private offsetsChanged = false
  /** Our process clock minus our wall clock, while our OS says the wall clock is synced; else null. */
  private ownOsClockMinusWallMs: number | null = null

  constructor (private readonly self: NodeId) {}

  /**
   * A direct peer came up. `beforeRegister` runs while the peer's old estimator (if any) is not
   * yet told to expect a restart: what is on its clock can still be converted from there.
   */
  up (peer: NodeId, nowMs: number, beforeRegister: () => void): void {
    // A peer that comes back may be the same process (its clock unchanged) or a restarted one (a
    // new clock origin): keep what we knew, but let the first disagreeing sample replace it.
    // What it said of its OS clock stands until it says again (its first words on the new link):
    // dropped, the offset would jump by what the wall clocks narrowed, and jump back.
    const known: PeerClock = this.peers.get(peer) ?? this.departed.get(peer) ?? { estimator: new OffsetEstimator(), osSynced: null, osClockMinusWallMs: null }
    const estimator = known.estimator
    this.departed.delete(peer)
    // Still up (a new connection without a drop seen): its entry goes from our report until measured.
    if (this.peers.has(peer) && reportable(estimator)) this.offsetsChanged = true
    beforeRegister()
    estimator.expectJump()
    this.peers.set(peer, { estimator, lastRepairMs: -Infinity, lastOffsetsSentMs: -Infinity, osSynced: known.osSynced, osClockMinusWallMs: known.osClockMinusWallMs })
    this.heard.set(peer, nowMs)
  }

  down (peer: NodeId): void {
    const gone = this.peers.get(peer)
    if (gone !== undefined) {
      if (reportable(gone.estimator)) this.offsetsChanged = true
      this.departed.delete(peer)
      this.departed.set(peer, { estimator: gone.estimator, osSynced: gone.osSynced, osClockMinusWallMs: gone.osClockMinusWallMs })
      // Oldest first: forget the longest gone beyond the bound.
      for (const old of this.departed.keys()) {
        if (this.departed.size <= MAX_DEPARTED_PEERS) break
        this.departed.delete(old)
      }
    }
    this.peers.delete(peer)
    this.heard.delete(peer)
    this.reported.delete(peer)
  }

  /** A clock probe to a direct peer completed. False if it is not one (the sample is dropped). */
  sample (peer: NodeId, s: ClockSample, nowMs: number, onRestart: OnClockRestart): boolean {
    const p = this.peers.get(peer)
    if (p === undefined) return false
    const before = this.offsetTo(peer, nowMs)
    const wasReportable = reportable(p.estimator)
    const verdict = p.estimator.add(s, nowMs)
    if (verdict === 'jump') onRestart(peer, before)
    if (verdict === 'jump' || reportable(p.estimator) !== wasReportable) this.offsetsChanged = true
    return true
  }

  /**
   * A message from `author` arrived (directly or relayed): it is present. Nodes heard are bounded
   * by MAX_KNOWN_NODES: past it, the relayed-only node heard longest ago is forgotten and returned
   * (direct peers are bounded by the mesh and always kept); null when none was.
   */
  heardFrom (author: NodeId, nowMs: number): NodeId | null {
    // Re-inserted, so the map stays ordered by when each node was last heard.
    this.heard.delete(author)
    this.heard.set(author, nowMs)
    if (this.heard.size <= MAX_KNOWN_NODES) return null
    for (const node of this.heard.keys()) {
      if (this.peers.has(node)) continue
      this.forget(node)
      return node
    }
    return null
  }

  isDirect (node: NodeId): boolean {
    return this.peers.has(node)
  }

  directPeers (): IterableIterator<NodeId> {
    return this.peers.keys()
  }

  get directCount (): number {
    return this.peers.size
  }

  /** Every other node we know of, direct or heard, sorted. */
  known (): NodeId[] {
    const ids = new Set<NodeId>([...this.peers.keys(), ...this.heard.keys()])
    ids.delete(this.self)
    return [...ids].sort()
  }

  /**
   * Offset to a direct peer from its own estimator, narrowed by the OS clocks where both are synced
   * (null when not direct or not measured).
   */
  directEstimate (node: NodeId, nowMs: number): OffsetEstimate | null {
    const p = this.peers.get(node)
    return p === undefined ? null : this.estimateOf(p, nowMs)
  }

  /** Our OS keeps our wall clock in step with time servers (our clock minus it), or not (null). */
  setOwnOsClock (clockMinusWallMs: number | null): void {
    // Not a change in kind: offsets move by at most what the wall clocks may be off, and the next
    // report carries that (a peer saying this over and over gets no report sent on each).
    this.ownOsClockMinusWallMs = clockMinusWallMs
  }

  /** A direct peer said whether its OS keeps its wall clock synced (and if so, its clock minus it). False if it is not one. */
  setPeerOsClock (peer: NodeId, synced: boolean, clockMinusWallMs: number | null): boolean {
    const p = this.peers.get(peer)
    if (p === undefined) return false
    p.osSynced = synced
    p.osClockMinusWallMs = synced ? clockMinusWallMs : null
    return true
  }

  /** What a direct peer said of its OS clock (null: not a direct peer, or it said nothing). */
  peerOsSynced (node: NodeId): boolean | null {
    return this.peers.get(node)?.osSynced ?? null
  }

  /**
   * How far the offset to `node` may be from the truth, ms: the true offset lies within the
   * intersection of every probe's bounds whatever the one-way delays were, so this is what a path
   * asymmetry could hide (direct: half that intersection, about half the quickest round trip, plus
   * drift since; composed: half the round trips of the path). Null when there is no offset.
   */
  offsetUncertaintyMs (node: NodeId, nowMs: number): number | null {
    const direct = this.directEstimate(node, nowMs)
    if (direct !== null) return direct.errorBoundMs
    const composed = this.composedOffset(node, nowMs)
    return composed === null ? null : composed.rttMs / 2
  }

  /** Peer clock minus ours, direct or composed through one neighbour; null when unknown. */
  offsetTo (node: NodeId, nowMs: number): number | null {
    if (node === this.self) return 0
    const direct = this.peers.get(node)?.estimator
    // Back after a drop, perhaps as a new process: nothing is read on its clock until a sample says.
    if (direct?.awaitingSample === true) return null
    const est = this.directEstimate(node, nowMs)
    if (est !== null) return est.offsetMs
    const composed = this.composedOffset(node, nowMs)
    if (composed !== null) return composed.offsetMs
    // Gone, but its clock may still carry the timeline until the hand-over: project the last fit.
    const departed = this.departed.get(node)
    return departed === undefined ? null : this.estimateOf(departed, nowMs)?.offsetMs ?? null
  }

  /**
   * The offset to `node` through a neighbour's report: the lowest-delay path, unless enough paths
   * exist to outvote a neighbour that lies about its hop (then the median path by offset).
   */
  composedOffset (node: NodeId, nowMs: number): OffsetTo | null {
    const paths: OffsetTo[] = []
    for (const [via, rep] of this.reported) {
      if (nowMs - rep.atMs > REPORTED_OFFSET_TTL_MS) continue
      const hop = rep.entries.get(node)
      const first = this.directEstimate(via, nowMs)
      if (hop === undefined || first === null) continue
      paths.push({ offsetMs: first.offsetMs + hop.offsetMs, rttMs: first.rttMs + hop.rttMs })
    }
    return choosePath(paths)
  }

  present (node: NodeId, nowMs: number): boolean {
    if (node === this.self || this.peers.has(node)) return true
    const heardMs = this.heard.get(node)
    return heardMs !== undefined && nowMs - heardMs <= RELAYED_PRESENCE_TTL_MS
  }

  /** The smallest id among us and our direct peers (the leader when the author is gone). */
  smallestDirect (): NodeId {
    let smallest = this.self
    for (const peer of this.peers.keys()) if (peer < smallest) smallest = peer
    return smallest
  }

  /** The largest round trip to a direct peer (0 when none is measured). */
  maxRttMs (nowMs: number): number {
    let maxRttMs = 0
    for (const p of this.peers.values()) maxRttMs = Math.max(maxRttMs, p.estimator.estimate(nowMs)?.rttMs ?? 0)
    return maxRttMs
  }

  /** The measured direct peer with the smallest round trip, if any. */
  nearest (nowMs: number): NodeId | null {
    let best: { peer: NodeId, rttMs: number } | null = null
    for (const [peer, p] of this.peers) {
      const rttMs = p.estimator.estimate(nowMs)?.rttMs
      if (rttMs !== undefined && (best === null || rttMs < best.rttMs)) best = { peer, rttMs }
    }
    return best?.peer ?? null
  }

  /** Whether a stale state from `peer` may be answered now (at most once per REPAIR_MIN_INTERVAL_MS). */
  mayRepair (peer: NodeId, nowMs: number): boolean {
    const p = this.peers.get(peer)
    if (p === undefined || nowMs - p.lastRepairMs < REPAIR_MIN_INTERVAL_MS) return false
    p.lastRepairMs = nowMs
    return true
  }

  /**
   * Drops relayed-only nodes not heard for a while (they left, or the path to them did); returns
   * them, for the caller to forget what else it kept of them.
   */
  forgetSilent (nowMs: number): NodeId[] {
    const forgotten: NodeId[] = []
    for (const [node, atMs] of this.heard) {
      if (!this.peers.has(node) && nowMs - atMs > RELAYED_PRESENCE_TTL_MS) {
        this.forget(node)
        forgotten.push(node)
      }
    }
    return forgotten
  }

  /**
   * A direct peer's `offsets` report arrived. Returns our own entries when the report doubles as a
   * request for ours (not sent to it for OFFSETS_INTERVAL_MS), null otherwise or if `from` is not
   * a direct peer (then the report is ignored: `known` says which). A report with an entry no one
   * could have measured is refused whole (`impossible` names the first such entry).
   */
  receiveOffsets (from: NodeId, reportedEntries: OffsetEntry[], nowMs: number, onRestart: OnClockRestart): { known: boolean, reply: OffsetEntry[] | null, impossible: OffsetEntry | null } {
    const peer = this.peers.get(from)
    if (peer === undefined) return { known: false, reply: null, impossible: null }
    const impossible = reportedEntries.find(e => !saneReportedOffset(e))
    if (impossible !== undefined) return { known: true, reply: null, impossible }
    const entries = new Map<NodeId, OffsetTo>()
    const previous = this.reported.get(from)?.entries
    for (const e of reportedEntries) {
      if (e.peer === from || e.peer === this.self) continue
      entries.set(e.peer, { offsetMs: e.offsetMs, rttMs: e.rttMs })
      // A reported offset that moved by more than both round trips allow: that clock restarted.
      const old = previous?.get(e.peer)
      if (old !== undefined && Math.abs(old.offsetMs - e.offsetMs) > (old.rttMs + e.rttMs) / 2 + REPORTED_RESTART_MARGIN_MS) {
        onRestart(e.peer, this.offsetTo(e.peer, nowMs))
        this.forgetReportedOffsets(e.peer) // what others said predates the restart
      }
    }
    // A node it reported before and no longer does: it lost that node, or waits to measure it
    // again since it came back, perhaps as a new process whose clock began again. What others
    // said of it may predate that; our own estimator, if any, knows better.
    for (const node of previous?.keys() ?? []) {
      if (entries.has(node) || this.peers.has(node)) continue
      onRestart(node, this.offsetTo(node, nowMs))
      this.forgetReportedOffsets(node)
    }
    this.reported.set(from, { entries, atMs: nowMs })
    // Their offsets double as a request for ours.
    if (nowMs - peer.lastOffsetsSentMs < OFFSETS_INTERVAL_MS) return { known: true, reply: null, impossible: null }
    peer.lastOffsetsSentMs = nowMs
    return { known: true, reply: this.ownOffsets(nowMs), impossible: null }
  }

  /**
   * The `offsets` reports due at `tickMs` (each to one neighbour), given the clock the timeline is
   * on (null without one): a round while some node that matters is reachable only through others,
   * and a changed report at once to every neighbour that may still compose through our last one.
   */
  dueReports (tickMs: number, dueByMs: number, timelineClock: NodeId | null): Array<{ to: NodeId, entries: OffsetEntry[] }> {
    const out: Array<{ to: NodeId, entries: OffsetEntry[] }> = []
    const round = this.peers.size > 0 && dueByMs >= this.lastOffsetsRoundMs + OFFSETS_INTERVAL_MS && this.needsComposedOffsets(timelineClock, tickMs)
    if (round) this.lastOffsetsRoundMs = tickMs
    if (round || this.offsetsChanged) {
      const entries = this.ownOffsets(tickMs)
      for (const [peer, p] of this.peers) {
        if (!round && tickMs - p.lastOffsetsSentMs > REPORTED_OFFSET_TTL_MS) continue
        p.lastOffsetsSentMs = tickMs
        out.push({ to: peer, entries })
      }
    }
    this.offsetsChanged = false
    return out
  }

  /** When this part next needs a tick: the next offsets round, or a relayed node's presence running out. */
  nextDueMs (nowMs: number, timelineClock: NodeId | null): number | null {
    const due: number[] = []
    if (this.peers.size > 0 && this.needsComposedOffsets(timelineClock, nowMs)) due.push(this.lastOffsetsRoundMs + OFFSETS_INTERVAL_MS)
    if (this.heard.size > this.peers.size) {
      // Presence of relayed-only nodes expires: look again then.
      for (const [node, atMs] of this.heard) if (!this.peers.has(node)) due.push(atMs + RELAYED_PRESENCE_TTL_MS + 1)
    }
    return due.length === 0 ? null : Math.min(...due)
  }

  /** A relayed-only node is forgotten: when heard again it may be a new process with a new clock. */
  private forget (node: NodeId): void {
    this.heard.delete(node)
    this.reported.delete(node)
    // Old reports of it would lie about a new clock.
    this.forgetReportedOffsets(node)
  }

  private forgetReportedOffsets (node: NodeId): void {
    for (const rep of this.reported.values()) rep.entries.delete(node)
  }

  /**
   * Our offsets to direct peers, for neighbours to compose through. A peer back after a drop is left
   * out until its first sample: its estimate is for a clock that may have begun again.
   */
  private ownOffsets (nowMs: number): OffsetEntry[] {
    const entries: OffsetEntry[] = []
    for (const [peer, p] of this.peers) {
      const est = reportable(p.estimator) ? this.estimateOf(p, nowMs) : null
      if (est !== null) entries.push({ peer, offsetMs: est.offsetMs, rttMs: est.rttMs })
    }
    return entries
  }

  private estimateOf (p: PeerClock, nowMs: number): OffsetEstimate | null {
    const est = p.estimator.estimate(nowMs)
    if (est === null || p.osClockMinusWallMs === null || this.ownOsClockMinusWallMs === null) return est
    // Peer clock - our clock = (its wall + its clock minus wall) - (our wall + ours), walls equal within their errors.
    return narrowByOsClocks(est, { offsetMs: p.osClockMinusWallMs - this.ownOsClockMinusWallMs, errorMs: 2 * OS_CLOCK_ERROR_MS })
  }

  /** True when some node that matters (the timeline's clock, a present node) is reachable only through others. */
  private needsComposedOffsets (timelineClock: NodeId | null, nowMs: number): boolean {
    if (timelineClock !== null && !this.peers.has(timelineClock) && timelineClock !== this.self) return true
    for (const node of this.heard.keys()) {
      if (!this.peers.has(node) && this.present(node, nowMs)) return true
    }
    return false
  }
}

/** Round trips and offsets a neighbour could really have measured (MIN/MAX_REPORTED_RTT_MS, finite). */
function saneReportedOffset (e: OffsetEntry): boolean {
  return Number.isFinite(e.offsetMs) && Number.isFinite(e.rttMs) && e.rttMs >= MIN_REPORTED_RTT_MS && e.rttMs <= MAX_REPORTED_RTT_MS
}

/** Lowest delay wins among one or two paths; from MIN_PATHS_FOR_MEDIAN on, the median by offset (a liar is outvoted). */
function choosePath (paths: OffsetTo[]): OffsetTo | null {
  if (paths.length === 0) return null
  if (paths.length < MIN_PATHS_FOR_MEDIAN) return paths.reduce((best, p) => p.rttMs < best.rttMs ? p : best)
  const byOffset = [...paths].sort((a, b) => a.offsetMs - b.offsetMs)
  return byOffset[Math.floor((byOffset.length - 1) / 2)] as OffsetTo
}

/** The estimator's offset goes into our `offsets`: measured, and not awaiting a sample since a reconnect. */
function reportable (est: OffsetEstimator): boolean {
  return est.measured && !est.awaitingSample
}
