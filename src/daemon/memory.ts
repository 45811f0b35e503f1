/**
 * What the daemon process holds in memory, for `watchmesh status --json` (a soak reads it to tell
 * a leak in the JavaScript heap from growth elsewhere, e.g. native buffers of the UDP stack).
 */
import { getHeapSpaceStatistics } from 'node:v8'

const BYTES_PER_MB = 1024 * 1024
/** V8's heap spaces that hold compiled code. */
const CODE_SPACES = new Set(['code_space', 'code_large_object_space'])

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
}

const mb = (bytes: number): number => Math.round((bytes / BYTES_PER_MB) * 100) / 100

export function memoryStatus (): MemoryStatus {
  const m = process.memoryUsage()
  let codeBytes = 0
  for (const space of getHeapSpaceStatistics()) {
    if (CODE_SPACES.has(space.space_name)) codeBytes += space.space_used_size
  }
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), codeMb: mb(codeBytes) }
}
