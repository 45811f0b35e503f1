/**
 * What the mesh refused, told without letting a flood write the log: the first few refusals of
 * each minute get a line of their own (with their reason, at the level the caller chose), the rest
 * are counted and said in one summary line when the minute is over. Pure: the caller passes the
 * time and prints what comes back.
 */

/** One summary a minute at most: a flood of any rate costs the log one line a minute. */
export const REFUSAL_SUMMARY_INTERVAL_MS = 60_000
/** Refusals told one by one per interval: enough to diagnose a friend's failed join. */
export const DETAILED_REFUSALS_PER_INTERVAL = 10

export class RefusalLog {
  private windowStartMs: number | null = null
  private detailed = 0
  private readonly counts = new Map<string, number>()
  private readonly addresses = new Set<string>()
  private total = 0

  constructor (
    private readonly intervalMs = REFUSAL_SUMMARY_INTERVAL_MS,
    private readonly detailedPerInterval = DETAILED_REFUSALS_PER_INTERVAL
  ) {}

  /**
   * Records one refusal (`kind` is a short reason, the summary's key). True when it deserves a
   * line of its own; false when it is only counted.
   */
  note (kind: string, address: string, nowMs: number): boolean {
    this.windowStartMs ??= nowMs
    this.total++
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1)
    // Bounded: a spray of addresses is counted, not remembered one by one beyond this.
    if (this.addresses.size < 1024) this.addresses.add(address)
    if (this.detailed >= this.detailedPerInterval) return false
    this.detailed++
    return true
  }

  /** The summary of the interval that ended by `nowMs` (and a new interval), or null. */
  summary (nowMs: number): string | null {
    if (this.windowStartMs === null || nowMs - this.windowStartMs < this.intervalMs) return null
    const minutes = (nowMs - this.windowStartMs) / 60_000
    const line = this.total <= this.detailed
      ? null
      : `refused ${this.total} connections or frames in the last ${minutes.toFixed(1)} min from ${this.addresses.size >= 1024 ? '1024+' : this.addresses.size} address(es): ` +
        [...this.counts].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${n} ${kind}`).join(', ')
    this.windowStartMs = null
    this.detailed = 0
    this.total = 0
    this.counts.clear()
    this.addresses.clear()
    return line
  }
}
