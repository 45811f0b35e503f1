/**
 * The mpv ways in as a user meets them on the command line: flags that do not go together, a
 * missing mpv, and `watchmesh players` seeing an mpv over IPC on a machine with no session bus.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeMedia } from '../fixtures/media.js'
import { startMpv } from '../fixtures/mpv.js'
import { runWatchmesh } from '../fixtures/watchmesh.js'

/** No bus, and config and runtime dirs of the test's own. */
async function isolatedEnv (t: { after: (fn: () => Promise<void>) => void }): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'wm-cli-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return { DBUS_SESSION_BUS_ADDRESS: undefined, XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'run') }
}

test('join --help documents the ways in', async () => {
  const r = await runWatchmesh(['join', '--help'])
  assert.equal(r.code, 0)
  for (const flag of ['--open', '--mpv ', '--mpv-ipc', '--no-osd', '--player']) assert.ok(r.stdout.includes(flag), `--help lacks ${flag}`)
})

test('flags that do not go together: exit 2 saying why', async t => {
  const env = await isolatedEnv(t)
  const cases: Array<[string[], RegExp]> = [
    [['--open', 'a.mkv', '--mpv-ipc', '/tmp/x'], /either --open .* or --mpv-ipc/],
    [['--mpv', '/usr/bin/mpv'], /--mpv says which mpv --open starts/],
    [['--mpv-ipc', '/tmp/x', '--player', 'vlc'], /--player chooses among MPRIS players/],
    [['--open', '/nonexistent/film.mkv'], /--open \/nonexistent\/film\.mkv: no such file/]
  ]
  for (const [flags, why] of cases) {
    const r = await runWatchmesh(['join', 'ways-in test room', ...flags], env)
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, why)
  }
})

test('join --open without mpv says how to install it here, and --mpv with no such file says so', async t => {
  const env = await isolatedEnv(t)
  const file = await makeMedia({ seconds: 30 })
  const missing = await runWatchmesh(['join', 'ways-in test room', '--open', file], { ...env, PATH: '/nonexistent' })
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /mpv is not installed .*apt install mpv/)
  const wrong = await runWatchmesh(['join', 'ways-in test room', '--open', file, '--mpv', '/nonexistent/mpv'], env)
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /--mpv \/nonexistent\/mpv: no such executable file/)
})

test('players sees an mpv over IPC with no session bus, and says there is no bus', async t => {
  const env = await isolatedEnv(t)
  const file = await makeMedia({ seconds: 30 })
  const mpv = await startMpv({ file, paused: true })
  t.after(async () => { await mpv.close() })
  const r = await runWatchmesh(['players', '--json', '--mpv-ipc', mpv.ipcPath], env)
  assert.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { players: Array<{ busName: string, playbackStatus: string, media: { name: string } | null }>, notes: string[] }
  // Another mpv on this machine's default path (/tmp/mpvsocket) would be listed too: look for ours.
  const ours = out.players.find(p => p.busName === `mpv IPC ${mpv.ipcPath}`)
  assert.deepEqual([ours?.playbackStatus, ours?.media?.name], ['Paused', 'testsrc-30s.mkv'], JSON.stringify(out.players))
  assert.ok(out.notes.some(n => /no D-Bus session bus/.test(n)), JSON.stringify(out.notes))
})
