/**
 * The network between simulated nodes: per-direction delay with jitter and spikes, loss (dropped,
 * or late as a reliable stream's retransmission would make it), duplicates, links that never work
 * (a partial mesh) and partitions that heal.
 */
import type { Rng } from './rng.js'

export interface LinkModel {
  /** Mean one-way delay a -> b, ms. */
  forwardMs: number
  /** Mean one-way delay b -> a, ms (asymmetric paths differ). */
  backMs: number
  /** Each one-way delay is spread uniformly over ± jitterMs / 2 around its mean. */
  jitterMs: number
  /** Share of messages that hit a queue spike (bufferbloat): extra exponential delay. */
  spikeProbability: number
  spikeMeanMs: number
  /** Share of messages lost. */
  loss: number
  /** When set, a lost message arrives this much later (a reliable stream retransmits) instead of never. */
  retransmitMs: number | null
  /** Share of messages delivered twice. */
  duplicate: number
}

export const QUIET_LINK: LinkModel = {
  forwardMs: 1, backMs: 1, jitterMs: 0.2, spikeProbability: 0, spikeMeanMs: 0, loss: 0, retransmitMs: null, duplicate: 0
}

export interface Partition {
  fromMs: number
  toMs: number
  /** Node indexes cut off from the others (links inside each side keep working). */
  group: number[]
}

export class SimNetwork {
  private readonly links = new Map<string, LinkModel>()
  private readonly broken = new Set<string>()

  constructor (
    readonly size: number,
    linkFor: (a: number, b: number) => LinkModel,
    broken: Array<[number, number]>,
    private readonly partitions: Partition[],
    private readonly rng: Rng
  ) {
    for (let a = 0; a < size; a++) {
      for (let b = a + 1; b < size; b++) this.links.set(key(a, b), linkFor(a, b))
    }
    for (const [a, b] of broken) this.broken.add(key(a, b))
  }

  /** The link can never carry anything (hole-punching failed for good). */
  isBroken (a: number, b: number): boolean {
    return this.broken.has(key(a, b))
  }

  /** A partition separates a and b at true time t. */
  isCut (a: number, b: number, tMs: number): boolean {
    for (const p of this.partitions) {
      if (tMs >= p.fromMs && tMs < p.toMs && p.group.includes(a) !== p.group.includes(b)) return true
    }
    return false
  }

  usable (a: number, b: number, tMs: number): boolean {
    return a !== b && !this.isBroken(a, b) && !this.isCut(a, b, tMs)
  }

  /** Partition edges (for the mesh's liveness model). */
  get partitionList (): readonly Partition[] {
    return this.partitions
  }

  /** Delays (ms) of the copies of one message a -> b sent at tMs: [] when lost, two when duplicated. */
  transit (a: number, b: number, tMs: number): number[] {
    if (!this.usable(a, b, tMs)) return []
    const link = this.links.get(key(a, b)) as LinkModel
    const meanMs = a < b ? link.forwardMs : link.backMs
    const one = (): number => {
      let d = meanMs - link.jitterMs / 2 + this.rng.next() * link.jitterMs
      if (this.rng.chance(link.spikeProbability)) d += this.rng.exp(link.spikeMeanMs)
      return Math.max(0.05, d)
    }
    let delay = one()
    if (this.rng.chance(link.loss)) {
      if (link.retransmitMs === null) return []
      delay += link.retransmitMs
    }
    return this.rng.chance(link.duplicate) ? [delay, one()] : [delay]
  }

  /** Minimum one-way delay a -> b (for reports). */
  meanOneWayMs (a: number, b: number): number {
    const link = this.links.get(key(a, b)) as LinkModel
    return a < b ? link.forwardMs : link.backMs
  }
}

function key (a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`
}
