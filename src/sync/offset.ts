/**
 * Clock offset and round trip to one peer, from NTP-style four-timestamp exchanges.
 *
 * The algorithm:
 * - One exchange gives t1 (we sent) and t4 (we got the reply) on our clock, t2 (peer got it) and
 *   t3 (peer replied) on the peer's. With `offset = peer clock - our clock`, and whatever the
 *   one-way delays were (they are never negative):
 *     t3 - t4  <=  offset  <=  t2 - t1
 *   Each exchange is an interval. Queueing only ever widens it, so averaging would drag the noise
 *   in; intersecting does the opposite: the upper bound is set by the quickest trip out, the lower
 *   by the quickest trip back, each the minimum of its own direction over the window (a much
 *   tighter pair than the single exchange with the smallest round trip). The estimate is the
 *   middle of the intersection: exact on symmetric paths, off by half the asymmetry otherwise
 *   (no two-way method can see asymmetry).
 * - Clocks drift apart (tens of ppm), which tilts the bounds over a window. The drift rate is
 *   measured over minutes: every few samples the middle of the latest block is kept as an anchor,
 *   and the slope of the anchors is the rate. The intersection is taken along that slope.
 * - Before there are enough anchors the window alone has to do, and over a minute of jittery
 *   samples it hardly shows a drift: the slope that leaves the widest intersection wanders by tens
 *   to hundreds of ppm (it is set by the few quickest trips), and each ppm off tilts the estimate by
 *   the age of the samples that set the bounds. So no drift is assumed until the samples show one:
 *   the slope nearest zero whose intersection is narrower than the widest by less than one edge's
 *   jitter. A drift that does show (a quiet LAN, a fast VM clock) is still followed.
 * - Impossible samples (time running backwards, negative delay, absurd round trips) are rejected.
 * - A sample whose interval misses the estimate entirely means a clock jumped (a peer restarted and
 *   its monotonic clock began again, a VM resumed), or is a fluke. A few such samples in a row
 *   that agree with one another confirm a jump: everything is re-learnt from them. A small jump
 *   shows as an empty intersection instead: the oldest samples go until it is consistent again.
 */

export interface ClockSample {
  /** We sent the probe (our clock). */
  t1: number
  /** The peer received it (peer's clock). */
  t2: number
  /** The peer replied (peer's clock). */
  t3: number
  /** We received the reply (our clock). */
  t4: number
}

export interface OffsetEstimate {
  /** Peer clock minus our clock: peer time = our time + offsetMs. */
  offsetMs: number
  /** Round trip of the chosen sample, without the peer's hold time. */
  rttMs: number
  /** The true offset lies within offsetMs ± errorBoundMs (if drift stays under MAX_DRIFT_PPM). */
  errorBoundMs: number
  /** How many samples the window holds. */
  samples: number
}

export type SampleVerdict = 'accepted' | 'rejected' | 'suspect' | 'jump'

/** At one probe a second: about a minute, enough for quick trips both ways to show up. */
export const OFFSET_WINDOW_SAMPLES = 64
/** One drift anchor per this many samples (a block's intersection is tight enough to anchor on). */
export const ANCHOR_BLOCK_SAMPLES = 16
/** Anchors kept: about eight minutes of drift history at one probe a second. */
export const MAX_ANCHORS = 32
/** The anchor slope is trusted once this many anchors span this long. */
export const MIN_ANCHORS = 3
export const MIN_ANCHOR_SPAN_MS = 40_000
/** Drift rates searched when there are no anchors yet (VM clocks can be worse than quartz). */
export const MAX_DRIFT_SEARCH_PPM = 500
/** A reply slower than this is not a clock sample worth keeping (and would hide a jump). */
export const MAX_SAMPLE_RTT_MS = 10_000
/** Two quartz clocks rarely disagree by more than 100 ppm each; sample bounds age at this rate. */
export const MAX_DRIFT_PPM = 200
/** Rounding and float noise can make a perfect sample's delay a hair negative. */
export const NEGATIVE_DELAY_TOLERANCE_MS = 0.5
/** Disagreeing samples in a row that confirm a clock jump (one could be a fluke; three is a trend). */
export const JUMP_CONFIRM_SAMPLES = 3
/** Slack when testing two intervals for overlap, for float noise and small drift-rate changes. */
export const JUMP_MARGIN_MS = 2
/** Gaps averaged to gauge an edge's jitter: one gap alone is as random as the jitter it measures. */
export const EDGE_GAPS = 4

interface Sample {
  t1: number
  t2: number
  t3: number
  t4: number
  offsetMs: number
  delayMs: number
  /** Our clock at t4, to age the sample. */
  atMs: number
}

interface Fit {
  /** Our time the fit is expressed at (the newest sample). */
  refMs: number
  /** Offset at refMs: the middle of the intersection. */
  offsetMs: number
  /** Half the width of the intersection (0 when it is a point or empty). */
  halfWidthMs: number
  /** Drift rate: d(offset)/d(our time), dimensionless (1e-6 = 1 ppm). */
  rate: number
  /** Smallest round trip in the window. */
  rttMs: number
}

export class OffsetEstimator {
  private window: Sample[] = []
  private suspects: Sample[] = []
  private block: Sample[] = []
  private anchors: Array<{ atMs: number, offsetMs: number }> = []
  private fit: Fit | null = null
  /** After a reconnect: the peer may have restarted, so one disagreeing sample is enough. */
  private jumpLikely = false

  /** Adds one exchange. `nowMs` is our clock (normally t4). */
  add (s: ClockSample, nowMs: number = s.t4): SampleVerdict {
    const sample = toSample(s)
    if (sample === null) return 'rejected'

    const current = this.estimate(nowMs)
    if (current !== null && !overlaps(sample, current)) {
      this.suspects.push(sample)
      const needed = this.jumpLikely ? 1 : JUMP_CONFIRM_SAMPLES
      const confirmed = this.suspects.length >= needed && this.suspects.every(x => agree(x, sample))
      if (!confirmed) {
        if (this.suspects.length >= JUMP_CONFIRM_SAMPLES) this.suspects.shift()
        return 'suspect'
      }
      const fresh = this.suspects
      this.reset()
      this.jumpLikely = false
      for (const x of fresh) this.push(x)
      return 'jump'
    }

    this.suspects = []
    this.jumpLikely = false
    this.push(sample)
    return 'accepted'
  }

  /** The peer reconnected: if the next sample disagrees, its clock restarted; re-learn at once. */
  expectJump (): void {
    if (this.fit !== null) this.jumpLikely = true
  }

  /**
   * Since a reconnect, no sample has said yet whether the peer's clock restarted: the estimate
   * holds for its old clock, and may be seconds off for anything it sends now.
   */
  get awaitingSample (): boolean {
    return this.jumpLikely
  }

  /** There is an estimate: a sample was taken since the start or the last reset. */
  get measured (): boolean {
    return this.fit !== null
  }

  /** Best estimate at our time `nowMs`, or null before the first sample. */
  estimate (nowMs: number): OffsetEstimate | null {
    const f = this.fit
    if (f === null) return null
    const ageMs = Math.abs(nowMs - f.refMs)
    return {
      offsetMs: f.offsetMs + f.rate * (nowMs - f.refMs),
      rttMs: f.rttMs,
      errorBoundMs: f.halfWidthMs + ageMs * MAX_DRIFT_PPM / 1e6,
      samples: this.window.length
    }
  }

  /** Measured drift of the peer's clock against ours, ppm (0 until measured). */
  get driftPpm (): number {
    return (this.fit?.rate ?? 0) * 1e6
  }

  /** Forgets everything (the peer went away; its next life may have another clock). */
  reset (): void {
    this.window = []
    this.suspects = []
    this.block = []
    this.anchors = []
    this.fit = null
  }

  private push (sample: Sample): void {
    this.window.push(sample)
    if (this.window.length > OFFSET_WINDOW_SAMPLES) this.window.shift()
    this.block.push(sample)
    if (this.block.length >= ANCHOR_BLOCK_SAMPLES) {
      const rate = this.fit?.rate ?? 0
      const mid = this.block[Math.floor(this.block.length / 2)] as Sample
      const b = bounds(this.block, rate, mid.atMs)
      if (b.hi >= b.lo) {
        this.anchors.push({ atMs: mid.atMs, offsetMs: (b.hi + b.lo) / 2 })
        if (this.anchors.length > MAX_ANCHORS) this.anchors.shift()
      }
      this.block = []
    }
    this.refit()
  }

  private refit (): void {
    const newest = this.window[this.window.length - 1]
    if (newest === undefined) {
      this.fit = null
      return
    }
    const rate = this.driftRate()
    let b = bounds(this.window, rate, newest.atMs)
    // An empty intersection: a small jump, or drift that changed. Keep the newest consistent part.
    while (b.hi < b.lo - JUMP_MARGIN_MS && this.window.length > 1) {
      this.window.shift()
      this.anchors = []
      b = bounds(this.window, rate, newest.atMs)
    }
    let rttMs = Infinity
    for (const s of this.window) rttMs = Math.min(rttMs, s.delayMs)
    this.fit = { refMs: newest.atMs, offsetMs: (b.hi + b.lo) / 2, halfWidthMs: Math.max(0, (b.hi - b.lo) / 2), rate, rttMs }
  }

  /**
   * Slope of the anchors once there are enough. Before that, the slope nearest zero that leaves an
   * intersection within one edge's jitter of the widest (see the top of the file).
   */
  private driftRate (): number {
    const first = this.anchors[0]
    const last = this.anchors[this.anchors.length - 1]
    if (first !== undefined && last !== undefined && this.anchors.length >= MIN_ANCHORS && last.atMs - first.atMs >= MIN_ANCHOR_SPAN_MS) {
      return slope(this.anchors)
    }
    if (this.window.length < ANCHOR_BLOCK_SAMPLES / 2) return 0
    const ref = (this.window[this.window.length - 1] as Sample).atMs
    const width = (rate: number): number => {
      const b = bounds(this.window, rate, ref)
      return b.hi - b.lo
    }
    // width(rate) is concave (a min of lines minus a max of lines): a ternary search finds its top.
    let lo = -MAX_DRIFT_SEARCH_PPM / 1e6
    let hi = MAX_DRIFT_SEARCH_PPM / 1e6
    for (let i = 0; i < 50; i++) {
      const m1 = lo + (hi - lo) / 3
      const m2 = hi - (hi - lo) / 3
      if (width(m1) < width(m2)) lo = m1
      else hi = m2
    }
    const widest = (lo + hi) / 2
    const floor = width(widest) - edgeJitter(this.window, widest, ref)
    if (width(0) >= floor) return 0
    // From zero to the top the width only grows: bisect for where it reaches the floor.
    let out = 0
    let inside = widest
    for (let i = 0; i < 50; i++) {
      const m = (out + inside) / 2
      if (width(m) >= floor) inside = m
      else out = m
    }
    return inside
  }
}

/** The intersection of the samples' intervals, each moved along `rate` to our time `refMs`. */
function bounds (samples: readonly Sample[], rate: number, refMs: number): { lo: number, hi: number } {
  let hi = Infinity
  let lo = -Infinity
  for (const s of samples) {
    hi = Math.min(hi, (s.t2 - s.t1) - rate * (s.t1 - refMs))
    lo = Math.max(lo, (s.t3 - s.t4) - rate * (s.t4 - refMs))
  }
  return { lo, hi }
}

/**
 * How far an edge of the intersection typically sits above where the quickest possible trips
 * would put it, along `rate`: for bounds spread over the jitter, the extreme one lies about one
 * gap from the floor, so the mean gap between an edge's extreme bounds, averaged over both edges.
 * Needs more than EDGE_GAPS samples.
 */
function edgeJitter (samples: readonly Sample[], rate: number, refMs: number): number {
  const his = samples.map(s => (s.t2 - s.t1) - rate * (s.t1 - refMs)).sort((a, b) => a - b)
  const los = samples.map(s => (s.t3 - s.t4) - rate * (s.t4 - refMs)).sort((a, b) => b - a)
  const hiGaps = (his[EDGE_GAPS] as number) - (his[0] as number)
  const loGaps = (los[0] as number) - (los[EDGE_GAPS] as number)
  return (hiGaps + loGaps) / (2 * EDGE_GAPS)
}

/** Least-squares slope of offset over time. */
function slope (points: ReadonlyArray<{ atMs: number, offsetMs: number }>): number {
  const n = points.length
  let mt = 0
  let mo = 0
  for (const p of points) {
    mt += p.atMs / n
    mo += p.offsetMs / n
  }
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.atMs - mt) * (p.offsetMs - mo)
    den += (p.atMs - mt) ** 2
  }
  return den > 0 ? num / den : 0
}

/** Offset and delay of one exchange, or null when the exchange is impossible. */
export function toSample (s: ClockSample): Sample | null {
  const { t1, t2, t3, t4 } = s
  if (![t1, t2, t3, t4].every(Number.isFinite)) return null
  if (t4 < t1 || t3 < t2) return null
  let delayMs = (t4 - t1) - (t3 - t2)
  if (delayMs < -NEGATIVE_DELAY_TOLERANCE_MS || delayMs > MAX_SAMPLE_RTT_MS) return null
  delayMs = Math.max(0, delayMs)
  return { t1, t2, t3, t4, offsetMs: ((t2 - t1) + (t3 - t4)) / 2, delayMs, atMs: t4 }
}

function overlaps (s: Sample, e: OffsetEstimate): boolean {
  return Math.abs(s.offsetMs - e.offsetMs) <= s.delayMs / 2 + e.errorBoundMs + JUMP_MARGIN_MS
}

function agree (a: Sample, b: Sample): boolean {
  return Math.abs(a.offsetMs - b.offsetMs) <= a.delayMs / 2 + b.delayMs / 2 + JUMP_MARGIN_MS
}

/**
 * What two operating systems that keep their clocks in step with time servers say of the offset:
 * each process clock minus its wall clock is known at each end, so the wall clocks give the offset
 * as the difference of the two, right within the clocks' own errors against true time.
 */
export interface OsClockHint {
  /** Peer clock minus ours, as the two wall clocks put it. */
  offsetMs: number
  /** How far that may be off: both wall clocks' errors against true time, summed. */
  errorMs: number
}

/**
 * The two-way estimate narrowed by what the operating systems say. The two-way interval holds
 * whatever the paths did (causality); the wall clocks' interval holds if both time services are as
 * good as assumed. Where the two meet, the offset is the point of the meeting nearest the two-way
 * middle: on a symmetric path (the middle exact) the wall clocks change nothing, on a lopsided one
 * they pull the middle as far as they know better, and never out of what the paths allow. Where
 * they do not meet, a wall clock is not as synced as its OS says: the two-way estimate stands.
 */
export function narrowByOsClocks (est: OffsetEstimate, hint: OsClockHint): OffsetEstimate {
  const lo = Math.max(est.offsetMs - est.errorBoundMs, hint.offsetMs - hint.errorMs)
  const hi = Math.min(est.offsetMs + est.errorBoundMs, hint.offsetMs + hint.errorMs)
  if (lo > hi) return est
  const offsetMs = Math.min(hi, Math.max(lo, est.offsetMs))
  return { ...est, offsetMs, errorBoundMs: Math.max(offsetMs - lo, hi - offsetMs) }
}
