/**
 * A node's monotonic clock against true (simulated) time: an origin, a rate error in ppm, and
 * optional steps (a VM resumed, a process restarted with a new origin).
 */
export interface ClockModel {
  /** Local reading at true time 0. */
  originMs: number
  /** Runs fast by this many parts per million (negative: slow). */
  driftPpm: number
  /** At true time `atMs` the clock jumps by `byMs`. */
  steps?: Array<{ atMs: number, byMs: number }>
  /**
   * The OS keeps this machine's wall clock in step with time servers, and says so: the wall clock
   * reads true time plus this. Absent: the OS says nothing of it.
   */
  osWallErrorMs?: number
}

export class SimClock {
  constructor (private readonly model: ClockModel) {}

  get driftPpm (): number {
    return this.model.driftPpm
  }

  /** Local reading at true time t. */
  local (tMs: number): number {
    let v = this.model.originMs + tMs * (1 + this.model.driftPpm / 1e6)
    for (const s of this.model.steps ?? []) if (tMs >= s.atMs) v += s.byMs
    return v
  }

  /** True time at which the clock reads `localMs` (the first such time when steps go backwards). */
  trueAt (localMs: number): number {
    const rate = 1 + this.model.driftPpm / 1e6
    let stepped = 0
    let t = (localMs - this.model.originMs) / rate
    // Apply the steps that have happened by then (few steps: a short fixed-point loop).
    for (let i = 0; i < 4; i++) {
      stepped = 0
      for (const s of this.model.steps ?? []) if (t >= s.atMs) stepped += s.byMs
      const next = (localMs - this.model.originMs - stepped) / rate
      if (next === t) break
      t = next
    }
    return t
  }
}
