/**
 * The flags node runs `watchmesh` with (the first line of bin/watchmesh.js): what they hold, and
 * that the file runs by itself, as a user's shell (or npm's shim) runs it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { BIN, NODE_FLAGS, nodeFlagsOf } from '../fixtures/watchmesh.js'

const execFileAsync = promisify(execFile)

/**
 * A child node with `flags` that allocates objects of which one in fifty survives a while (the
 * daemon's pattern, faster): V8's young generation (both semi-spaces) afterwards, MB.
 */
async function youngGenerationAfterChurn (flags: string[]): Promise<number> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    const kept = []
    for (let i = 0; i < 3e6; i++) {
      const o = { i, s: 'x' + i }
      if (i % 50 === 0) { kept.push(o); if (kept.length > 20000) kept.splice(0, 10000) }
    }
    const space = getHeapSpaceStatistics().find(s => s.space_name === 'new_space')
    console.log(space.space_size / 1048576)`
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const { stdout } = await execFileAsync(process.execPath, [...flags, '--input-type=module', '-e', script], { env })
  return Number(stdout.trim())
}

test('the CLI\'s first line gives node its flags, and the file runs by itself', async () => {
  assert.deepEqual(nodeFlagsOf('#!/usr/bin/env -S node --a=1 --b\nrest'), ['--a=1', '--b'])
  assert.deepEqual(nodeFlagsOf('#!/usr/bin/env -S node\n'), [])
  assert.deepEqual(nodeFlagsOf('#!/usr/bin/env node\n'), [])
  assert.throws(() => nodeFlagsOf('#!/usr/bin/env node --a\n'), /first line/)
  assert.ok(NODE_FLAGS.includes('--max-semi-space-size=1'), NODE_FLAGS.join(' '))
  // Executed as a program: the kernel runs env, env -S splits the flags and runs node with them.
  const { stdout } = await execFileAsync(BIN, ['--version'])
  assert.match(stdout, /^\d+\.\d+\.\d+/)
})

test('with the CLI\'s flags V8\'s young generation stays at its starting size under churn; without, V8 grows it', async () => {
  const held = await youngGenerationAfterChurn(NODE_FLAGS)
  // Two semi-spaces of 1 MB.
  assert.ok(held <= 2, `${held} MB with ${NODE_FLAGS.join(' ')}`)
  const grown = await youngGenerationAfterChurn([])
  assert.ok(grown > 2, `${grown} MB with V8's defaults: this churn does not show what the flags hold`)
})
