/**
 * Token bucket: `ratePerSec` sustained, `burst` at once. Pure: the caller passes the time.
 */
export class TokenBucket {
  private tokens: number
  private lastMs: number | null = null

  constructor (private readonly ratePerSec: number, private readonly burst: number) {
    this.tokens = burst
  }

  /** Takes one token at `nowMs`; false when the bucket is empty. */
  take (nowMs: number): boolean {
    if (this.lastMs !== null && nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.lastMs) * this.ratePerSec / 1000)
    }
    this.lastMs = nowMs
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
