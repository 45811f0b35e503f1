/** The `memory` of `watchmesh status --json`: this process's own figures, in MB. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { memoryStatus } from '../../src/daemon/memory.js'

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
})
