/** What the daemon learnt of each kind of player, kept in players.json: round trip, bad files, bounds. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_REMEMBERED_PLAYERS, PLAYER_MEMORY_FILE, PlayerMemory } from '../../src/daemon/player-memory.js'
import { LEARNT_BOUNDS } from '../../src/sync/learnt.js'
import { SEEK_LEAD_MS } from '../../src/sync/config.js'
import type { LearntPlayer } from '../../src/sync/types.js'
import { playerKind } from '../../src/player/kind.js'

const MPV: LearntPlayer = { startLatencyMs: -47.5, rateJumpMs: 3.2, readingLagMs: 19.8, freshReadingLagMs: 4.1, roughShortMs: 6.5, seekLeadMs: 22, resumeShiftMs: -26.5, seekShiftMs: 4 }

async function tempDir (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wm-memory-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

async function load (dir: string): Promise<{ memory: PlayerMemory, warnings: string[] }> {
  const warnings: string[] = []
  const memory = await PlayerMemory.load(dir, msg => warnings.push(msg))
  return { memory, warnings }
}

test('what was learnt round-trips through the file, which is private and written only when something changed', async t => {
  const dir = await tempDir(t)
  const { memory, warnings } = await load(dir)
  assert.equal(memory.get('mpv-ipc'), undefined, 'nothing remembered at first')
  await memory.save()
  await assert.rejects(stat(join(dir, PLAYER_MEMORY_FILE)), 'nothing learnt, nothing written')
  memory.remember('mpv-ipc', MPV)
  memory.remember('mpris:vlc:VLC media player', { ...MPV, readingLagMs: 480 })
  await memory.save()
  assert.equal((await stat(join(dir, PLAYER_MEMORY_FILE))).mode & 0o777, 0o600)
  assert.deepEqual(await readdir(dir), [PLAYER_MEMORY_FILE], 'no temporary file left behind')

  const again = await load(dir)
  assert.deepEqual(again.warnings, [])
  assert.deepEqual(again.memory.get('mpv-ipc'), MPV)
  assert.equal(again.memory.get('mpris:vlc:VLC media player')?.readingLagMs, 480)
  assert.deepEqual(warnings, [])
})

test('a corrupt, foreign-version or oversized file is ignored with one line, never thrown', async t => {
  const dir = await tempDir(t)
  const path = join(dir, PLAYER_MEMORY_FILE)
  for (const [body, why] of [
    ['{"version": 1, "players": {"mpv-ipc": {"startLat', /not valid JSON/],
    [JSON.stringify({ version: 99, players: { 'mpv-ipc': MPV } }), /not version 1/],
    [JSON.stringify({ version: 1 }), /no players/],
    [JSON.stringify([1, 2, 3]), /not version 1/],
    ['x'.repeat(70 * 1024), /over \d+ bytes/]
  ] as const) {
    await writeFile(path, body)
    const { memory, warnings } = await load(dir)
    assert.equal(memory.get('mpv-ipc'), undefined, body.slice(0, 40))
    assert.equal(warnings.length, 1, `one line for ${body.slice(0, 40)}: ${warnings.join(' | ')}`)
    assert.match(warnings[0] ?? '', why)
  }
  // A record with a missing or non-numeric value is dropped; the good ones stay.
  await writeFile(path, JSON.stringify({ version: 1, players: { 'mpv-ipc': MPV, bad: { ...MPV, rateJumpMs: 'x' }, worse: { startLatencyMs: 1 } } }))
  const { memory, warnings } = await load(dir)
  assert.deepEqual(memory.get('mpv-ipc'), MPV)
  assert.equal(memory.get('bad'), undefined)
  assert.equal(memory.get('worse'), undefined)
  assert.deepEqual(warnings.length, 1)
  assert.match(warnings[0] ?? '', /2 unreadable records/)
})

test('a file written before the seek lead was kept is still read: its values used, the seek lead from its first guess', async t => {
  const dir = await tempDir(t)
  const { seekLeadMs: _, resumeShiftMs: _r, seekShiftMs: _s, ...before } = MPV
  await writeFile(join(dir, PLAYER_MEMORY_FILE), JSON.stringify({ version: 1, players: { 'mpv-ipc': { ...before, savedAt: '2026-11-30T20:00:00.000Z' } } }))
  const { memory, warnings } = await load(dir)
  assert.deepEqual(warnings, [])
  assert.deepEqual(memory.get('mpv-ipc'), { ...before, seekLeadMs: SEEK_LEAD_MS, resumeShiftMs: 0, seekShiftMs: 0 })
  // What is learnt since is written with the new key, and read back.
  memory.remember('mpv-ipc', { ...before, seekLeadMs: 24, resumeShiftMs: 0, seekShiftMs: 0 })
  await memory.save()
  assert.equal((await load(dir)).memory.get('mpv-ipc')?.seekLeadMs, 24)
  // An old key missing is still damage; a seek lead that is not a number too.
  await writeFile(join(dir, PLAYER_MEMORY_FILE), JSON.stringify({ version: 1, players: { a: { ...before, roughShortMs: undefined }, b: { ...MPV, seekLeadMs: null }, c: MPV } }))
  const again = await load(dir)
  assert.equal(again.memory.get('a'), undefined)
  assert.equal(again.memory.get('b'), undefined)
  assert.deepEqual(again.memory.get('c'), MPV)
  assert.match(again.warnings.join(' | '), /2 unreadable records/)
})

test('values are clamped to their sane ranges, and the number of kinds is bounded', async t => {
  const dir = await tempDir(t)
  await writeFile(join(dir, PLAYER_MEMORY_FILE), JSON.stringify({ version: 1, players: { 'mpv-ipc': { startLatencyMs: -1e9, rateJumpMs: 1e9, readingLagMs: -5, freshReadingLagMs: 1e6, roughShortMs: 3, seekLeadMs: 1 } } }))
  const { memory } = await load(dir)
  assert.deepEqual(memory.get('mpv-ipc'), {
    startLatencyMs: LEARNT_BOUNDS.startLatencyMs[0],
    rateJumpMs: LEARNT_BOUNDS.rateJumpMs[1],
    readingLagMs: 0,
    freshReadingLagMs: LEARNT_BOUNDS.freshReadingLagMs[1],
    roughShortMs: 3,
    seekLeadMs: LEARNT_BOUNDS.seekLeadMs[0],
    resumeShiftMs: 0,
    seekShiftMs: 0
  })
  memory.remember('mpv-ipc', { ...MPV, startLatencyMs: Number.NaN })
  assert.equal(memory.get('mpv-ipc')?.rateJumpMs, LEARNT_BOUNDS.rateJumpMs[1], 'a record with a non-number is not kept')

  for (let i = 0; i < MAX_REMEMBERED_PLAYERS + 5; i++) memory.remember(`kind-${i}`, MPV)
  await memory.save()
  const saved = JSON.parse(await readFile(join(dir, PLAYER_MEMORY_FILE), 'utf8')) as { players: Record<string, unknown> }
  assert.equal(Object.keys(saved.players).length, MAX_REMEMBERED_PLAYERS)
  assert.ok(`kind-${MAX_REMEMBERED_PLAYERS + 4}` in saved.players, 'the latest kinds are kept')
  assert.ok(!('kind-0' in saved.players), 'the oldest go')
})

test('a player\'s kind: the way in and its name, not its process', () => {
  assert.equal(playerKind('org.mpris.MediaPlayer2.mpv', 'mpv Media Player'), 'mpris:mpv:mpv Media Player')
  assert.equal(playerKind('org.mpris.MediaPlayer2.mpv.instance4242', 'mpv Media Player'), 'mpris:mpv:mpv Media Player')
  assert.equal(playerKind('org.mpris.MediaPlayer2.vlc.instance7', 'VLC media player'), 'mpris:vlc:VLC media player')
  assert.equal(playerKind('mpv IPC /tmp/mpvsocket', 'mpv 0.35.1'), 'mpv-ipc')
  assert.equal(playerKind('org.mpris.MediaPlayer2.x', 'evil\u001b[2Jname\n'), 'mpris:x:evilname')
})
