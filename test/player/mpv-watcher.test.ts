/**
 * The mpv IPC watcher with a stand-in for mpv on a Unix socket: an mpv that is there but does not
 * answer (frozen, hung) is said once as a warning and tried again, and followed once it answers;
 * a read it does not answer fails (it is not the last state projected on).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MpvIpcWatcher } from '../../src/player/mpv-watcher.js'
import type { Player, PlayerLog } from '../../src/player/player.js'
import { waitFor } from '../fixtures/wait.js'
import { startMpvStandIn } from '../fixtures/mpv-stand-in.js'
import { isWatchmeshError } from '../../src/errors.js'

/** What the stand-in answers to `get_property`, as mpv 0.35 would for a paused file. */
const PROPERTIES: Record<string, unknown> = {
  'mpv-version': 'mpv 0.35.1', 'working-directory': '/tmp', 'time-pos': 12.5, pause: true, speed: 1,
  path: '/tmp/film.mkv', duration: 7200, 'media-title': 'film'
}

test('mpv IPC watcher: an mpv that does not answer is warned about once and tried again, then followed once it answers', async () => {
  const answering = { value: false }
  const mpv = await startMpvStandIn(({ command: [name, arg] }) => {
    // Not answering: the read of the player's state (pause, speed, time-pos) gets no reply (one
    // unanswered property is enough, and keeps each failed attempt to one deadline).
    if (!answering.value && arg === 'pause') return undefined
    return name === 'get_property' ? PROPERTIES[String(arg)] : null
  })
  const path = mpv.path
  const watcher = new MpvIpcWatcher({ path })
  const logs: PlayerLog[] = []
  const attached: Player[] = []
  watcher.on('log', entry => logs.push(entry))
  watcher.on('attach', player => attached.push(player))
  try {
    await watcher.start()
    assert.equal(watcher.current, null)
    const warnings = (): PlayerLog[] => logs.filter(l => l.level === 'warn')
    await waitFor('a warning that mpv does not answer', () => warnings().length > 0, { seen: () => logs })
    assert.match(warnings()[0]?.msg ?? '', /did not answer .* within 2000 ms; trying again$/)
    answering.value = true
    await waitFor('mpv followed once it answers', () => attached.length > 0, { timeoutMs: 20_000, seen: () => logs })
    assert.equal(watcher.current, attached[0])
    assert.equal(warnings().length, 1, `said once: ${JSON.stringify(logs)}`)
    const player = attached[0] as Player
    assert.equal((await player.state()).media?.name, 'film.mkv')
    // Frozen again: a read fails as one not answered, never as the last state projected on.
    answering.value = false
    await assert.rejects(player.state(), (err: unknown) => isWatchmeshError(err, 'PLAYER_NOT_ANSWERING'))
  } finally {
    await watcher.close()
    await mpv.close()
  }
})
