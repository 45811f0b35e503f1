/**
 * The npm package as a user gets it: `npm pack` the built project, install the tarball into a
 * fresh prefix (dependencies from npm's cache when it has them), and run the installed
 * `watchmesh` from outside the repository. A file the package leaves out fails here, not at a user's.
 * Needs `npm run build` first (as `npm test` does); the pack itself runs no scripts.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { DemoResult } from '../../src/demo/demo.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** Deadlines, not measurements: an install resolves ~60 packages, from the cache when it can. */
const INSTALL_TIMEOUT_MS = 300_000
const DEMO_TIMEOUT_MS = 120_000

let dir = ''
let bin = ''
let version = ''

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wm-pack-'))
  version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
  // --ignore-scripts: `prepare` would rebuild dist/ under tests that are using it.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: INSTALL_TIMEOUT_MS })
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  assert.ok(info !== undefined, `npm pack printed ${packed.stdout}`)
  const files = info.files.map(f => f.path)
  for (const needed of ['bin/watchmesh.js', 'dist/src/cli/main.js', 'dist/src/daemon/daemon.js', 'package.json', 'README.md']) {
    assert.ok(files.includes(needed), `the package lacks ${needed} (it has ${files.length} files)`)
  }
  assert.ok(!files.some(f => f.startsWith('dist/test/') || f.startsWith('src/') || f.startsWith('node_modules/')), 'tests, sources and node_modules stay out')
  const prefix = join(dir, 'prefix')
  await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)],
    { cwd: dir, timeout: INSTALL_TIMEOUT_MS })
  bin = join(prefix, 'bin', 'watchmesh')
})

after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

/** The installed command, run from the temporary directory with no path into the repository. */
async function installed (args: string[], timeoutMs: number): Promise<{ stdout: string, stderr: string }> {
  return await run(bin, args, {
    cwd: dir,
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'run') }
  })
}

test('the installed package prints its version', async () => {
  const { stdout } = await installed(['--version'], DEMO_TIMEOUT_MS)
  assert.equal(stdout.trim(), version)
})

test('the installed package runs the demo with the simulated player', async () => {
  // How well the demo keeps step is test/cli/demo.test.ts's business; here: that it runs at all.
  const { stdout } = await installed(['demo', '--player', 'simulated', '--json'], DEMO_TIMEOUT_MS)
  const result = JSON.parse(stdout) as DemoResult
  assert.equal(result.players, 'simulated')
  assert.equal(result.steps.length, 8, JSON.stringify(result.steps))
})
