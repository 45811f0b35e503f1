/**
 * The one clock of a watchmesh process, in ms: monotonic (`performance.now()`, it never steps),
 * counted from the wall-clock time at which the process started. Peers' clock offsets then read as
 * how far apart their wall clocks are (a few ms under NTP), not how far apart two processes
 * started. Like CLOCK_MONOTONIC it stands still while the machine sleeps: peers see that as a clock
 * jump and learn the offset again (sync/offset.ts).
 */
import { performance } from 'node:perf_hooks'

export function processNow (): number {
  return performance.timeOrigin + performance.now()
}
