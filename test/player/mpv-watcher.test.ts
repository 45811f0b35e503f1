/**
 * The mpv IPC watcher with a stand-in for mpv on a Unix socket: an mpv that is there but does not
 * answer (frozen, hung) is said once as a warning and tried again, and followed once it answers;
 * a read it does not answer fails (it is not the last state projected on).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MpvIpcWatcher } from '../../src/player/mpv-watcher.js'
import { MpvIpcPlayer } from '../../src/player/mpv-ipc.js'
import type { Player, PlayerLog, UserEvent } from '../../src/player/player.js'
import { waitFor } from '../fixtures/wait.js'
import { startMpvStandIn } from '../fixtures/mpv-stand-in.js'
import type { MpvStandIn } from '../fixtures/mpv-stand-in.js'
import { isWatchmeshError } from '../../src/errors.js'

/** What the stand-in answers to `get_property`, as mpv 0.35 would for a paused file. */
const PROPERTIES: Record<string, unknown> = {
  'mpv-version': 'mpv 0.35.1', 'working-directory': '/tmp', 'time-pos': 12.5, pause: true, speed: 1,
  path: '/tmp/film.mkv', duration: 7200, 'media-title': 'film'
}

/**
 * A stand-in answering `props`, except, while `silent.value`, the read of the player's state (pause,
 * speed, time-pos): one unanswered property is enough, and keeps each failed read to one deadline.
 */
async function standIn (props: Record<string, unknown>, silent: { value: boolean }): Promise<MpvStandIn> {
  return await startMpvStandIn(({ command: [name, arg] }) => {
    if (silent.value && arg === 'pause') return undefined
    return name === 'get_property' ? props[String(arg)] : null
  })
}

test('mpv IPC watcher: an mpv that does not answer is warned about once and tried again, then followed once it answers', async () => {
  const silent = { value: true }
  const mpv = await standIn({ ...PROPERTIES }, silent)
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
    silent.value = false
    await waitFor('mpv followed once it answers', () => attached.length > 0, { timeoutMs: 20_000, seen: () => logs })
    assert.equal(watcher.current, attached[0])
    assert.equal(warnings().length, 1, `said once: ${JSON.stringify(logs)}`)
    const player = attached[0] as Player
    assert.equal((await player.state()).media?.name, 'film.mkv')
    // Frozen again: a read fails as one not answered, never as the last state projected on.
    silent.value = true
    await assert.rejects(player.state(), (err: unknown) => isWatchmeshError(err, 'PLAYER_NOT_ANSWERING'))
  } finally {
    await watcher.close()
    await mpv.close()
  }
})

test('mpv IPC: a play of its user whose read gets no answer is still told, with what is known', async () => {
  const silent = { value: false }
  const props = { ...PROPERTIES }
  const mpv = await standIn(props, silent)
  const player = new MpvIpcPlayer({ path: mpv.path })
  const events: UserEvent[] = []
  const logs: PlayerLog[] = []
  player.on('user', ev => events.push(ev))
  player.on('log', entry => logs.push(entry))
  try {
    await player.start()
    // The user presses play; mpv pushes the change, then stops answering before the read that
    // would give the event its position.
    silent.value = true
    props.pause = false
    mpv.push({ event: 'property-change', id: 1, name: 'pause', data: false })
    const ev = await waitFor('the play told', () => events[0], { seen: () => ({ events, logs }) })
    assert.equal(ev.kind, 'play')
    assert.equal(ev.state.playing, true)
    assert.ok(Math.abs(ev.state.positionMs - 12_500) < 5_000, `near where it was: ${ev.state.positionMs}`)
    assert.ok(logs.some(l => /reading mpv IPC \S+ for its user's play failed .*; told with what is known/.test(l.msg)), JSON.stringify(logs))
  } finally {
    await player.close()
    await mpv.close()
  }
})
