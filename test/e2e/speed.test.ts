/**
 * Speed changes in a room of three real mpv: each viewer in turn sets a speed in their own player
 * (its IPC, not the daemon): 1.25x, then 1.5x (the old speed runs on longest), then back to 1x.
 * Everyone follows on one timeline within one frame (three measurements in a row), and the
 * narration says who set which speed. Real processes, private buses, a local testnet. How close
 * they stay after that is bench:speed's to measure (2, 5 and 15 s after each change), not a test's.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Viewer } from '../fixtures/viewer.js'
import { roomForFile } from '../fixtures/file-room.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor, waitForRun } from '../fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS } from '../fixtures/room.js'
import { MAX_RATE_NUDGE } from '../../src/sync/config.js'

// Long enough that the room never plays into the end at 1.5x on a busy machine.
const viewers = roomForFile({ passphrase: 'speed e2e: lomavi-tesoru', mediaSeconds: 300, viewers: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] })

/** The room's rate, or a drift move around it (a player is nudged by at most MAX_RATE_NUDGE). */
function atSpeed (speed: number, rate: number): boolean {
  return Math.abs(rate / speed - 1) <= MAX_RATE_NUDGE + 1e-9
}

async function speeds (): Promise<number[]> {
  return await Promise.all(viewers.map(async v => Number(await v.player.command(['get_property', 'speed']))))
}

async function setSpeedAndFollow (by: Viewer, speed: number): Promise<void> {
  await by.player.command(['set_property', 'speed', speed])
  await waitForRun(`every player at ${speed}x`, speeds, s => s.every(r => atSpeed(speed, r)), { consecutive: 1, timeoutMs: FOLLOW_DEADLINE_MS, intervalMs: 25, show: s => s.join(' ') })
  await waitForSkewBelow(viewers, FRAME_MS, `after ${by.name} set ${speed}x`)
  assert.ok(await allPlaying(viewers, true), 'the room plays on')
  const now = await speeds()
  assert.ok(now.every(r => atSpeed(speed, r)), `speeds ${now.join(' ')}: not ${speed}x or a drift move around it`)
  const said = `${Number(speed.toFixed(2))}x`.replace('.', '\\.')
  await by.proc.waitForLine(new RegExp(`you set the speed to ${said}`), { timeoutMs: FOLLOW_DEADLINE_MS })
  for (const v of viewers.filter(v => v !== by)) await v.proc.waitForLine(new RegExp(`${by.name} set the speed to ${said}`), { timeoutMs: FOLLOW_DEADLINE_MS })
}

test('viewers set 1.25x, 1.5x and 1x in their players: everyone plays at that speed within one frame, and is told who set which speed', async () => {
  const [alice, bob, carol] = viewers as [Viewer, Viewer, Viewer]
  await alice.userResume()
  await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow(viewers, FRAME_MS, 'playing at 1x')

  await setSpeedAndFollow(alice, 1.25)
  await setSpeedAndFollow(bob, 1.5)
  await setSpeedAndFollow(carol, 1)
})
