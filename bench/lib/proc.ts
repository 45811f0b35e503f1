/**
 * What the kernel says about a process (Linux /proc): resident memory and CPU time. The daemons
 * under test are separate processes, so this is read from outside them, not from the daemon's word.
 */
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

const KB_PER_MB = 1024
/** utime and stime are fields 14 and 15 of /proc/<pid>/stat (1-based), counted after the `(comm)`. */
const UTIME_FIELD_AFTER_COMM = 11
const STIME_FIELD_AFTER_COMM = 12

let ticksPerSecond: number | null = null

/** Clock ticks per second of /proc CPU times (USER_HZ, 100 on every Linux this runs on). */
function clockTicksPerSecond (): number {
  if (ticksPerSecond === null) {
    const parsed = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    ticksPerSecond = Number.isFinite(parsed) && parsed > 0 ? parsed : 100
  }
  return ticksPerSecond
}

export interface ProcSample {
  rssMb: number
  /** User + system CPU time the process has used since it started, seconds. */
  cpuS: number
}

/** RSS and CPU time of `pid`; rejects when the process is gone. */
export async function sampleProc (pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')])
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  if (rss === null) throw new Error(`no VmRSS in /proc/${pid}/status (a zombie?)`)
  // comm may contain spaces and parentheses: the fields after it start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[UTIME_FIELD_AFTER_COMM]) + Number(fields[STIME_FIELD_AFTER_COMM])
  return { rssMb: Number(rss[1]) / KB_PER_MB, cpuS: ticks / clockTicksPerSecond() }
}

/** Least-squares slope of y over x (units of y per unit of x); null with fewer than 2 distinct x. */
export function slope (xs: readonly number[], ys: readonly number[]): number | null {
  const n = Math.min(xs.length, ys.length)
  if (n < 2) return null
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) { mx += xs[i] as number; my += ys[i] as number }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx
    sxy += dx * ((ys[i] as number) - my)
    sxx += dx * dx
  }
  return sxx === 0 ? null : sxy / sxx
}
