/** The CLI as a new user meets it: help, version, and clear, non-zero exits for bad usage. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { runWatchmesh } from '../fixtures/watchmesh.js'

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }

test('--help lists the commands and exits 0', async () => {
  const r = await runWatchmesh(['--help'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /join \[passphrase\]/)
  assert.match(r.stdout, /players/)
})

test('join --help documents the options', async () => {
  const r = await runWatchmesh(['join', '--help'])
  assert.equal(r.code, 0)
  for (const flag of ['--bootstrap', '--player', '--name']) assert.match(r.stdout, new RegExp(flag))
})

test('--version prints the package version', async () => {
  const r = await runWatchmesh(['--version'])
  assert.equal(r.code, 0)
  assert.equal(r.stdout.trim(), pkg.version)
})

test('no command: a hint and exit 2', async () => {
  const r = await runWatchmesh([])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /say which command/)
})

test('unknown option: exit 2 naming it', async () => {
  const r = await runWatchmesh(['join', 'movie night', '--frobnicate'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /frobnicate/)
})

test('join without a passphrase: exit 2', async () => {
  const r = await runWatchmesh(['join'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /passphrase/)
})

test('--passphrase-file: unreadable file, or both forms at once, are refused', async () => {
  const missing = await runWatchmesh(['join', '--passphrase-file', '/nonexistent/room'])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /cannot read --passphrase-file/)
  const both = await runWatchmesh(['join', 'movie night', '--passphrase-file', '/nonexistent/room'])
  assert.equal(both.code, 2)
  assert.match(both.stderr, /not both/)
})

test('empty passphrase: exit 2 with a clear message', async () => {
  const r = await runWatchmesh(['join', '   '])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /passphrase must not be empty/)
})

test('malformed --bootstrap: exit 2 naming the bad value', async () => {
  for (const bad of ['nonsense', 'host:', 'host:99999', '127.0.0.1:0x10']) {
    const r = await runWatchmesh(['join', 'movie night', '--bootstrap', bad])
    assert.equal(r.code, 2, `--bootstrap ${bad} should be refused (stderr: ${r.stderr})`)
    assert.match(r.stderr, /bootstrap/)
  }
})
