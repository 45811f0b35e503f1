/**
 * Skew as design.md defines it: max over pairs of |position_i - position_j| at the same instant,
 * measured from the players' own clocks (not from what the daemon believes).
 *
 * Real players report positions in frame steps (mpv: 40 ms at 25 fps), so one pair of reads can be
 * off by up to a frame. Each reading carries the local time it refers to; playing positions are
 * projected to a common instant (rate 1), and the per-sample differences are averaged over samples
 * spread across the frame period, which averages the frame quantisation out.
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface Reading {
  positionMs: number
  /** Local monotonic time the position refers to (e.g. the midpoint of the read's round trip). */
  atMs: number
  playing: boolean
}

export type Reader = () => Promise<Reading>

/** Samples spaced by a period that does not divide 40 ms, so they fall on every phase of a frame. */
export const SAMPLE_SPACING_MS = 17
export const DEFAULT_SAMPLES = 24

/** Mean signed skew of each reader relative to the first, in ms (positive: ahead of the first). */
export async function relativeSkewsMs (readers: Reader[], samples = DEFAULT_SAMPLES): Promise<number[]> {
  const sums = readers.map(() => 0)
  for (let i = 0; i < samples; i++) {
    const readings = await Promise.all(readers.map(async read => await read()))
    const ref = readings[0]
    if (ref === undefined) return []
    readings.forEach((r, j) => {
      const projected = r.playing ? r.positionMs + (ref.atMs - r.atMs) : r.positionMs
      sums[j] = (sums[j] ?? 0) + projected - ref.positionMs
    })
    if (i + 1 < samples) await sleep(SAMPLE_SPACING_MS)
  }
  return sums.map(s => s / samples)
}

/** Largest pairwise skew among the readers, ms. */
export async function maxSkewMs (readers: Reader[], samples = DEFAULT_SAMPLES): Promise<number> {
  return spreadMs(await relativeSkewsMs(readers, samples))
}

/** The largest pairwise skew among skews relative to one player (0 for none). */
export function spreadMs (skewsMs: readonly number[]): number {
  return skewsMs.length === 0 ? 0 : Math.max(...skewsMs) - Math.min(...skewsMs)
}
