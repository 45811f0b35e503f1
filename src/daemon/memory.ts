/**
 * What the daemon process holds in memory, for `watchmesh status --json` (a soak reads it to tell
 * a leak in the JavaScript heap from growth elsewhere, e.g. native buffers of the UDP stack).
 */
const BYTES_PER_MB = 1024 * 1024

export interface MemoryStatus {
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  /** C++ objects bound to JS (sockets, crypto) and ArrayBuffers: outside the JS heap. */
  externalMb: number
  arrayBuffersMb: number
}

const mb = (bytes: number): number => Math.round((bytes / BYTES_PER_MB) * 100) / 100

export function memoryStatus (): MemoryStatus {
  const m = process.memoryUsage()
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers) }
}
