/**
 * A peer names the file it switched to; we open a file of that name only when it is a regular
 * media file beside ours. Names built to escape the folder, reach other file types or probe for
 * files are never opened (and say nothing about what exists).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { EventEmitter } from 'node:events'
import { isOpenableName, siblingUrl } from '../../src/daemon/sibling.js'
import type { Player } from '../../src/player/player.js'

function playerAt (url: string): Player {
  const player = new EventEmitter() as unknown as Player
  Object.assign(player, { state: async () => ({ playing: false, positionMs: 0, atMs: 0, rate: 1, media: { id: 'x', name: 'x', lengthMs: null, url } }) })
  return player
}

test('only a regular media file beside the current one, by a plain name, is opened', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'wm-sibling-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  for (const f of ['ep1.mkv', 'ep2.mkv', 'notes.txt', '.hidden.mkv', 'evil\u001b[2J.mkv']) await writeFile(join(dir, f), 'x')
  await mkdir(join(dir, 'folder.mkv'))
  await symlink('/etc/passwd', join(dir, 'passwd.mkv'))
  await writeFile(join(tmpdir(), 'wm-outside.mkv'), 'x')
  t.after(async () => { await rm(join(tmpdir(), 'wm-outside.mkv'), { force: true }) })
  const player = playerAt(pathToFileURL(join(dir, 'ep1.mkv')).href)

  assert.equal(await siblingUrl(player, 'ep2.mkv'), pathToFileURL(join(dir, 'ep2.mkv')).href)
  for (const name of ['notes.txt', '.hidden.mkv', 'evil\u001b[2J.mkv', 'folder.mkv', 'passwd.mkv', '../wm-outside.mkv', '..', '/etc/passwd', 'missing.mkv', 'a\\b.mkv']) {
    assert.equal(await siblingUrl(player, name), null, `${JSON.stringify(name)} must not be opened`)
  }
  assert.equal(await siblingUrl(playerAt('https://example.invalid/ep1.mkv'), 'ep2.mkv'), null, 'only beside a local file')
})

test('openable names: plain, printable, visible, with a media extension', () => {
  assert.ok(isOpenableName('Film (2024).MKV'))
  for (const bad of ['film', 'film.exe', 'film.mkv.sh', '', 'a/b.mkv', '.x.mp4', 'x\u202e.mp4']) assert.equal(isOpenableName(bad), false, bad)
})
