/**
 * A broadcast budget per author: how many of one member's broadcasts we deliver and relay per
 * second, whichever neighbour brings them. Only members get a bucket (the mesh checks membership
 * first), and the map is bounded besides: a forgotten author starts again with a full burst,
 * which costs at most one burst. Pure: the caller passes the time.
 */
import { TokenBucket } from './rate-limit.js'
import type { PeerId } from './types.js'

/** Authors with a bucket at most: a room of 32 direct peers, each vouching for its own 32. */
export const MAX_BUDGETED_AUTHORS = 1024

export class AuthorBudgets {
  /** Insertion order is recency of use: the first entry is the least recently used. */
  private readonly buckets = new Map<PeerId, TokenBucket>()

  constructor (private readonly ratePerSec: number, private readonly burst: number, private readonly capacity = MAX_BUDGETED_AUTHORS) {}

  /** Takes one broadcast of `author` at `nowMs`; false when its budget is spent. */
  take (author: PeerId, nowMs: number): boolean {
    let bucket = this.buckets.get(author)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.ratePerSec, this.burst)
      if (this.buckets.size >= this.capacity) {
        const oldest = this.buckets.keys().next()
        if (oldest.done !== true) this.buckets.delete(oldest.value)
      }
    } else {
      this.buckets.delete(author)
    }
    this.buckets.set(author, bucket)
    return bucket.take(nowMs)
  }

  get size (): number {
    return this.buckets.size
  }
}
