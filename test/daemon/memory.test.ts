/** The `memory` of `watchmesh status --json`: this process's own figures, in MB. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { GcWatch, memoryStatus } from '../../src/daemon/memory.js'
import { waitFor } from '../fixtures/wait.js'

const execFileAsync = promisify(execFile)

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

/**
 * A child node that allocates objects of which one in fifty survives a while (the daemon's pattern,
 * faster), after keepYoungGenerationSmall: prints whether the pin was set and V8's young generation
 * size (both semi-spaces), MB.
 */
async function youngGenerationAfterChurn (nodeOptions: string | undefined): Promise<{ pinned: boolean, newSpaceMb: number }> {
  const memoryJs = new URL('../../src/daemon/memory.js', import.meta.url).href
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    import { keepYoungGenerationSmall } from ${JSON.stringify(memoryJs)}
    const pinned = keepYoungGenerationSmall()
    const kept = []
    for (let i = 0; i < 3e6; i++) {
      const o = { i, s: 'x' + i }
      if (i % 50 === 0) { kept.push(o); if (kept.length > 20000) kept.splice(0, 10000) }
    }
    const space = getHeapSpaceStatistics().find(s => s.space_name === 'new_space')
    console.log(JSON.stringify({ pinned, newSpaceMb: space.space_size / 1048576 }))`
  const env = { ...process.env, NODE_OPTIONS: nodeOptions }
  if (nodeOptions === undefined) delete env.NODE_OPTIONS
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env })
  return JSON.parse(stdout)
}

test('the daemon keeps V8\'s young generation at its starting size, unless node was given a size of its own', async () => {
  const pinned = await youngGenerationAfterChurn(undefined)
  assert.equal(pinned.pinned, true)
  // Two semi-spaces of 1 MB: V8 would have doubled them to 16 MB each under this churn (below).
  assert.ok(pinned.newSpaceMb <= 2, JSON.stringify(pinned))
  const own = await youngGenerationAfterChurn('--max-semi-space-size=16')
  assert.equal(own.pinned, false)
  assert.ok(own.newSpaceMb > 2, `V8's own growth, the baseline: ${JSON.stringify(own)}`)
})
