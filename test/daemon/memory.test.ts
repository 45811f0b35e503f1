/** The `memory` of `watchmesh status --json`: this process's own figures, in MB. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GcWatch, memoryStatus } from '../../src/daemon/memory.js'
import { waitFor } from '../fixtures/wait.js'

test('memory status is process.memoryUsage in MB: RSS above the heap, the heap used within its total', () => {
  const m = memoryStatus()
  const raw = process.memoryUsage()
  assert.ok(m.heapUsedMb > 0 && m.heapUsedMb <= m.heapTotalMb, JSON.stringify(m))
  assert.ok(m.rssMb > m.heapUsedMb, JSON.stringify(m))
  // The same figures as Node's, divided by 2^20 (they move a little between the two reads).
  assert.ok(Math.abs(m.rssMb - raw.rss / 1048576) < 16, `${m.rssMb} MB vs ${raw.rss} bytes`)
  assert.ok(Math.abs(m.heapTotalMb - raw.heapTotal / 1048576) < 16, `${m.heapTotalMb} MB vs ${raw.heapTotal} bytes`)
  assert.ok(m.externalMb >= m.arrayBuffersMb && m.arrayBuffersMb >= 0, JSON.stringify(m))
  // Code is part of the heap used: this test's own functions are compiled.
  assert.ok(m.codeMb > 0 && m.codeMb < m.heapUsedMb, JSON.stringify(m))
  // The young generation is part of the heap reserved: at least V8's starting 2 MB.
  assert.ok(m.youngGenerationMb >= 1 && m.youngGenerationMb <= m.heapTotalMb, JSON.stringify(m))
})

test('the heap after a full collection: null before one, then what the heap held just after it', async () => {
  const watch = new GcWatch()
  watch.start()
  try {
    assert.equal(memoryStatus(watch).heapAfterGcMb, null)
    assert.equal(memoryStatus(watch).dataAfterGcMb, null)
    let garbage: unknown[] = []
    // Allocate until V8 runs a full collection of its own (no --expose-gc needed).
    const seen = await waitFor('a full collection', () => {
      for (let i = 0; i < 50_000; i++) garbage.push({ i, s: `x${i}` })
      if (garbage.length > 1_000_000) garbage = []
      return watch.heapAfterGcMb ?? undefined
    }, { timeoutMs: 30_000, intervalMs: 1 })
    const m = memoryStatus(watch)
    assert.equal(m.heapAfterGcMb, seen)
    assert.ok(seen > 0 && seen < m.heapTotalMb + 64, JSON.stringify(m))
    // The data alone: the same heap less the compiled code and bytecode (this test's own, at least).
    assert.ok(m.dataAfterGcMb !== null && m.dataAfterGcMb > 0 && m.dataAfterGcMb < seen, JSON.stringify(m))
  } finally {
    watch.stop()
  }
})
