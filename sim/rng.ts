/**
 * Seeded randomness for the simulator: the same seed gives the same world, so a failing run can
 * be replayed from the seed it prints.
 */
export class Rng {
  private a: number

  constructor (readonly seed: number) {
    this.a = seed >>> 0
  }

  /** Uniform in [0, 1) (mulberry32: tiny, fast, good enough for simulation). */
  next (): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0
    let t = this.a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  uniform (lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  int (lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1))
  }

  chance (p: number): boolean {
    return this.next() < p
  }

  /** Exponential with the given mean (waiting times, queueing delay). */
  exp (mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** An independent stream, so adding draws in one model does not shift another's. */
  fork (label: string): Rng {
    let h = this.seed ^ 0x9e3779b9
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
    return new Rng(h >>> 0)
  }
}
