/**
 * A speed change in a room of three real mpv: one viewer sets 1.25x in their own player (its IPC,
 * not the daemon); everyone follows on one timeline within one frame, and the narration says the
 * speed. Real processes, private buses, a local testnet.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Viewer } from '../fixtures/viewer.js'
import { roomForFile } from '../fixtures/file-room.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor, waitForRun } from '../fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS } from '../fixtures/room.js'
import { MAX_RATE_NUDGE } from '../../src/sync/config.js'

const SPEED = 1.25

// Long enough that the room never plays into the end at 1.25x on a busy machine.
const viewers = roomForFile({ passphrase: 'speed e2e: lomavi-tesoru', mediaSeconds: 300, viewers: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] })

/** The room's rate, or a drift move around it (a player is nudged by at most MAX_RATE_NUDGE). */
function atTheRoomsSpeed (speed: number): boolean {
  return Math.abs(speed / SPEED - 1) <= MAX_RATE_NUDGE + 1e-9
}

async function speeds (): Promise<number[]> {
  return await Promise.all(viewers.map(async v => Number(await v.player.command(['get_property', 'speed']))))
}

test('one viewer sets 1.25x in their player: everyone plays at 1.25x within one frame, and is told who set which speed', async () => {
  const [alice, bob, carol] = viewers as [Viewer, Viewer, Viewer]
  await alice.userResume()
  await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow(viewers.map(v => v.player), FRAME_MS, 'playing at 1x')

  await alice.player.command(['set_property', 'speed', SPEED])
  await waitForRun(`every player at ${SPEED}x`, speeds, s => s.every(atTheRoomsSpeed), { consecutive: 1, timeoutMs: FOLLOW_DEADLINE_MS, show: s => s.join(' ') })
  await waitForSkewBelow(viewers.map(v => v.player), FRAME_MS, `after alice set ${SPEED}x`)
  assert.ok(await allPlaying(viewers, true), 'the room plays on')
  const now = await speeds()
  assert.ok(now.every(atTheRoomsSpeed), `speeds ${now.join(' ')}: not ${SPEED}x or a drift move around it`)

  await alice.proc.waitForLine(/you set the speed to 1\.25x/, { timeoutMs: FOLLOW_DEADLINE_MS })
  for (const v of [bob, carol]) await v.proc.waitForLine(/alice set the speed to 1\.25x/, { timeoutMs: FOLLOW_DEADLINE_MS })
})
