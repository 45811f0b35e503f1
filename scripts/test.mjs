#!/usr/bin/env node
/**
 * `npm test` after the build: every compiled test file, in two streams at once.
 *
 * - The real-time stream: everything that runs a testnet, real mpv, daemons or a network bed, or
 *   judges real time. One file at a time, as before, its output live.
 * - The untimed stream: files whose outcome does not depend on timing: the pure sync engine and
 *   its simulated time, codecs, text, platform rules, the CLI's usage errors, and the package
 *   check (npm pack and install). They need no quiet machine, so they run beside the real-time
 *   stream, also one file at a time; their output is held and printed in one block when the
 *   real-time stream is done, so the two streams' TAP never interleaves.
 *
 * Exits non-zero when either stream fails. `--real-time-only` / `--untimed-only` run one stream
 * (for timing the split); further arguments are passed to both `node --test` runs.
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TESTS = join(ROOT, 'dist', 'test')
/** A test may take this long (the chaos run and the network bed take minutes on a busy machine). */
const TEST_TIMEOUT_MS = 300_000
/**
 * Test directories (and single files) whose outcome does not depend on timing: no testnet, no
 * player, no daemon, no wall-clock bar. Anything not listed runs in the real-time stream.
 */
const UNTIMED = [
  'sync/', 'text/', 'platform/', 'pack/', 'cli/usage.test.js', 'daemon/memory.test.js',
  'player/ledger.test.js', 'player/metadata.test.js', 'player/observer.test.js', 'player/position.test.js', 'player/select.test.js',
  'mesh/pake.test.js', 'mesh/keys.test.js', 'mesh/operator.test.js', 'mesh/small-parts.test.js', 'mesh/wire.test.js',
  'daemon/chat.test.js', 'daemon/local-state.test.js', 'daemon/player-memory.test.js', 'daemon/pieces.test.js', 'daemon/sibling.test.js',
  'cli/passphrase-input.test.js', 'cli/node-flags.test.js', 'daemon/log.test.js', 'fixtures/room-diagnosis.test.js'
]

function testFiles (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return testFiles(path)
    return e.name.endsWith('.test.js') ? [path] : []
  }).sort()
}

function isUntimed (file) {
  const rel = relative(TESTS, file).split(sep).join('/')
  return UNTIMED.some(p => p.endsWith('/') ? rel.startsWith(p) : rel === p)
}

/** Runs `node --test` on files; resolves with its exit code and (when held) its output. */
function nodeTest (files, { hold }) {
  const args = ['--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, ...passThrough, ...files]
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: hold ? ['ignore', 'pipe', 'pipe'] : 'inherit' })
  const chunks = []
  child.stdout?.on('data', c => chunks.push(c))
  child.stderr?.on('data', c => chunks.push(c))
  const startedMs = performance.now()
  return new Promise(resolve => {
    child.on('close', (code, signal) => resolve({
      code: code ?? 1,
      signal,
      output: Buffer.concat(chunks).toString('utf8'),
      seconds: (performance.now() - startedMs) / 1000
    }))
  })
}

const flags = new Set(process.argv.slice(2).filter(a => a === '--real-time-only' || a === '--untimed-only'))
const passThrough = process.argv.slice(2).filter(a => !flags.has(a))
const all = testFiles(TESTS)
const untimedFiles = flags.has('--real-time-only') ? [] : all.filter(isUntimed)
const realTimeFiles = flags.has('--untimed-only') ? [] : all.filter(f => !isUntimed(f))

console.log(`# ${realTimeFiles.length} files in the real-time stream, ${untimedFiles.length} untimed files beside it (their output follows it)`)
const untimedRun = untimedFiles.length === 0 ? null : nodeTest(untimedFiles, { hold: true })
const realTime = realTimeFiles.length === 0 ? null : await nodeTest(realTimeFiles, { hold: false })
const untimed = await untimedRun
if (untimed !== null) {
  console.log(`# ---- untimed stream (${untimedFiles.length} files, ran beside the real-time stream) ----`)
  process.stdout.write(untimed.output)
}
const line = (name, r) => r === null ? `${name}: not run` : `${name}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code}${r.signal === null ? '' : `, ${r.signal}`})`} in ${r.seconds.toFixed(0)} s`
console.log(`# ${line('real-time stream', realTime)}; ${line('untimed stream', untimed)}`)
process.exitCode = (realTime?.code ?? 0) !== 0 || (untimed?.code ?? 0) !== 0 ? 1 : 0
