/**
 * What the daemon process holds in memory, for `watchmesh status --json` (a soak reads it to tell
 * a leak in the JavaScript heap from growth elsewhere, e.g. native buffers of the UDP stack).
 */
import { getHeapCodeStatistics, getHeapSpaceStatistics } from 'node:v8'
import { PerformanceObserver, constants } from 'node:perf_hooks'

const BYTES_PER_MB = 1024 * 1024
/** V8's heap spaces that hold compiled code. */
const CODE_SPACES = new Set(['code_space', 'code_large_object_space'])
/** V8's young generation (its two semi-spaces). */
const YOUNG_SPACE = 'new_space'

export interface MemoryStatus {
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  /** C++ objects bound to JS (sockets, crypto) and ArrayBuffers: outside the JS heap. */
  externalMb: number
  arrayBuffersMb: number
  /**
   * Compiled code, part of the heap used: it grows for many minutes as V8 compiles and optimises
   * more functions, which is warm-up, not a leak of data.
   */
  codeMb: number
  /**
   * V8's young generation as reserved now (both semi-spaces, within heapTotalMb): V8 starts it at
   * 1-2 MB and doubles it, up to 32 MB on 64-bit, as objects survive its scavenges. Read in a
   * playing two-viewer room: 4 MB at 10 s, 8 MB from ~50 s. In a soak heapTotal rose in steps of
   * 8.5 and 16.75 MB (the sizes of its last two doublings) by minute 35-40, and RSS with it. A
   * run-time flag does not hold it: --semi-space-growth-factor=1 did in a test process, not in the
   * daemon (still 4 -> 8 MB); only node's own --max-semi-space-size at start does, which the CLI's
   * first line now gives (bin/watchmesh.js: 2 MB for a whole soak hour).
   */
  youngGenerationMb: number
  /** The heap used just after V8's latest full collection (null before the first): what is alive. */
  heapAfterGcMb: number | null
  /**
   * heapAfterGcMb without V8's compiled code, bytecode and their metadata (deoptimisation data,
   * relocation info, source positions, which live outside the code spaces): the program's own data.
   * V8 goes on optimising more functions long after the start: heap snapshots of three playing
   * daemons at minutes 2, 10 and 20 grew by 1.2-1.4 MB, of it 1.17-1.27 MB code and its metadata
   * (~340, ~700, ~830 functions optimised), all else 0.04-0.11 MB (0.005-0.02 MB in the last ten
   * minutes). A leak of data shows here, not hidden by that warm-up (null before the first collection).
   */
  dataAfterGcMb: number | null
}

const mb = (bytes: number): number => Math.round((bytes / BYTES_PER_MB) * 100) / 100

/**
 * Watches V8's full collections (mark-compact): the heap used just after one is what is alive, where
 * a leak shows. At any other moment the heap also holds garbage not yet collected, whose amount
 * follows V8's scheduling: even the lowest of many samples rose for hours in a soak while the heap
 * after full collections stayed flat. Costs one callback per collection.
 */
export class GcWatch {
  private observer: PerformanceObserver | null = null
  private lastMb: number | null = null

  start (): void {
    if (this.observer !== null) return
    this.observer = new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.lastMb = mb(process.memoryUsage().heapUsed)
      }
    })
    this.observer.observe({ entryTypes: ['gc'] })
  }

  stop (): void {
    this.observer?.disconnect()
    this.observer = null
  }

  /** Heap used, MB, as seen right after the latest full collection; null before the first. */
  get heapAfterGcMb (): number | null {
    return this.lastMb
  }
}

export function memoryStatus (gc: GcWatch | null = null): MemoryStatus {
  const m = process.memoryUsage()
  let codeBytes = 0
  let youngBytes = 0
  for (const space of getHeapSpaceStatistics()) {
    if (CODE_SPACES.has(space.space_name)) codeBytes += space.space_used_size
    if (space.space_name === YOUNG_SPACE) youngBytes = space.space_size
  }
  const afterGcMb = gc?.heapAfterGcMb ?? null
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), codeMb: mb(codeBytes), youngGenerationMb: mb(youngBytes), heapAfterGcMb: afterGcMb, dataAfterGcMb: afterGcMb === null ? null : dataMb(afterGcMb) }
}

/**
 * `heapMb` less V8's code, bytecode and their metadata as they are now. Counting them walks the heap
 * (2-6 ms), so it is done when a status is asked for, not at every collection: the code grown since
 * the collection (kilobytes a minute) is then subtracted too.
 */
function dataMb (heapMb: number): number {
  const code = getHeapCodeStatistics()
  return Math.round((heapMb - (code.code_and_metadata_size + code.bytecode_and_metadata_size) / BYTES_PER_MB) * 100) / 100
}
