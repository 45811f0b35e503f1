/**
 * A speed change in a room of three real mpv: one viewer sets 1.25x in their own player (its IPC,
 * not the daemon); everyone follows on one timeline within one frame, and the narration says the
 * speed. Real processes, private buses, a local testnet.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Viewer } from '../fixtures/viewer.js'
import { roomForFile } from '../fixtures/file-room.js'
import { IN_STEP_CONSECUTIVE, maxSkewMs, waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor, waitForRun } from '../fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS } from '../fixtures/room.js'
import { MAX_RATE_NUDGE } from '../../src/sync/config.js'

const SPEED = 1.25
/**
 * The goal: a speed change lands like a resume, every player within one frame 2 s after it and
 * staying there. Judged by when the first of IN_STEP_CONSECUTIVE in-frame measurements in a row
 * began (each measurement reads for ~0.4 s), and the run must reach past 2 s: a lucky moment early
 * in the change does not count.
 */
const IN_STEP_AFTER_CHANGE_MS = 2000

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

  const changedAtMs = Date.now()
  await alice.player.command(['set_property', 'speed', SPEED])
  // Measured from the change on, until IN_STEP_CONSECUTIVE measurements in a row within a frame
  // reach past the 2 s mark, or one over a frame comes at or after it.
  const seen: Array<{ skewMs: number, fromMs: number }> = []
  let runFrom = 0
  for (;;) {
    const fromMs = Date.now() - changedAtMs
    seen.push({ skewMs: await maxSkewMs(viewers.map(v => v.player)), fromMs })
    if ((seen.at(-1)?.skewMs ?? Infinity) > FRAME_MS) {
      runFrom = seen.length
      // Over a frame apart at or after the 2 s mark: no run can have begun by then.
      if (fromMs >= IN_STEP_AFTER_CHANGE_MS) break
    }
    if (seen.length - runFrom >= IN_STEP_CONSECUTIVE && fromMs >= IN_STEP_AFTER_CHANGE_MS) break
  }
  const shown = seen.map(m => `${m.skewMs.toFixed(1)} ms @${(m.fromMs / 1000).toFixed(1)}s`).join('; ')
  console.log(`# after alice set ${SPEED}x: ${shown}`)
  const inStepFromMs = seen[runFrom]?.fromMs ?? Infinity
  assert.ok(seen.length - runFrom >= IN_STEP_CONSECUTIVE && inStepFromMs <= IN_STEP_AFTER_CHANGE_MS,
    `not within one frame from ${IN_STEP_AFTER_CHANGE_MS / 1000} s after the change on (${IN_STEP_CONSECUTIVE} measurements in a row): ${shown}`)
  await waitForRun(`every player at ${SPEED}x`, speeds, s => s.every(atTheRoomsSpeed), { consecutive: 1, timeoutMs: FOLLOW_DEADLINE_MS, show: s => s.join(' ') })
  await waitForSkewBelow(viewers.map(v => v.player), FRAME_MS, `still after alice set ${SPEED}x`)
  assert.ok(await allPlaying(viewers, true), 'the room plays on')
  const now = await speeds()
  assert.ok(now.every(atTheRoomsSpeed), `speeds ${now.join(' ')}: not ${SPEED}x or a drift move around it`)

  await alice.proc.waitForLine(/you set the speed to 1\.25x/, { timeoutMs: FOLLOW_DEADLINE_MS })
  for (const v of [bob, carol]) await v.proc.waitForLine(/alice set the speed to 1\.25x/, { timeoutMs: FOLLOW_DEADLINE_MS })
})
