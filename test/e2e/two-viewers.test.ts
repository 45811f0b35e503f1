/**
 * End to end, as two users would run it: two real `watchmesh join` processes, each with its own
 * private D-Bus session bus and real mpv, meeting through a local Hyperswarm testnet. The users
 * drive their own mpv (its IPC input, not the daemon); the other mpv must follow.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Viewer } from '../fixtures/viewer.js'
import { roomForFile } from '../fixtures/file-room.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor, waitForRun } from '../fixtures/wait.js'

/** Targets: pause lands within 50 ms of the pauser's position; playing within 80 ms. */
const PAUSE_TOLERANCE_MS = 50
const PLAY_TOLERANCE_MS = 80
/** Deadline for a followed action to show up on the other side (a deadline, not a measurement). */
const FOLLOW_DEADLINE_MS = 10_000
/** Reads in a row that must agree before a paused room counts as resting where it should. */
const REST_READS = 5

// Long enough that the room never plays into the end (seeks go up to 90 s; tests run minutes on a busy machine).
const viewers = roomForFile({ passphrase: 'two viewers e2e', mediaSeconds: 300, viewers: [{ name: 'alice' }, { name: 'bob' }] })

async function resumeAndCheck (actor: Viewer, other: Viewer): Promise<void> {
  await actor.userResume()
  await waitFor(`${other.name} to resume`, async () => !(await other.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow([actor, other], PLAY_TOLERANCE_MS, `after ${actor.name} resumed`)
  assert.equal(await actor.paused(), false, `${actor.name} stopped playing`)
  assert.equal(await other.paused(), false, `${other.name} stopped playing`)
}

/** Both paused, `REST_READS` reads in a row within the pause tolerance: what the viewers see once everything has landed. */
async function assertRestingTogether (actor: Viewer, other: Viewer, label: string): Promise<void> {
  const reads = await waitForRun(`${label}: both paused within ${PAUSE_TOLERANCE_MS} ms`, async () => {
    const [actorPaused, otherPaused, actorMs, otherMs] = await Promise.all([actor.paused(), other.paused(), actor.positionMs(), other.positionMs()])
    return { paused: actorPaused && otherPaused, skewMs: otherMs - actorMs }
  }, r => r.paused && Math.abs(r.skewMs) <= PAUSE_TOLERANCE_MS,
  { consecutive: REST_READS, timeoutMs: FOLLOW_DEADLINE_MS, intervalMs: 50, show: r => `${r.paused ? 'paused' : 'PLAYING'} ${r.skewMs.toFixed(1)} ms` })
  console.log(`# skew ${label}: ${reads.slice(-REST_READS).map(r => r.skewMs.toFixed(1)).join(', ')} ms`)
}

async function pauseAndCheck (actor: Viewer, other: Viewer): Promise<void> {
  await actor.userPause()
  await waitFor(`${other.name} to pause`, async () => await other.paused(), { timeoutMs: FOLLOW_DEADLINE_MS })
  const actorMs = await actor.positionMs()
  await waitFor(`${other.name} to land on ${actor.name}'s position`, async () => Math.abs(await other.positionMs() - actorMs) <= PAUSE_TOLERANCE_MS,
    { timeoutMs: FOLLOW_DEADLINE_MS })
  await assertRestingTogether(actor, other, `after ${actor.name} paused`)
}

async function seekAndCheck (actor: Viewer, other: Viewer, seconds: number): Promise<void> {
  await actor.userSeek(seconds)
  const targetMs = seconds * 1000
  await waitFor(`${actor.name}'s own seek to land`, async () => Math.abs(await actor.positionMs() - targetMs) <= PAUSE_TOLERANCE_MS)
  const otherMs = await waitFor(`${other.name} to follow the seek to ${seconds} s`, async () => {
    const pos = await other.positionMs()
    return Math.abs(pos - targetMs) <= PAUSE_TOLERANCE_MS ? pos : undefined
  }, { timeoutMs: FOLLOW_DEADLINE_MS })
  const actorMs = await actor.positionMs()
  assert.ok(Math.abs(otherMs - actorMs) <= PAUSE_TOLERANCE_MS, `${other.name} at ${otherMs.toFixed(0)} ms, ${actor.name} at ${actorMs.toFixed(0)} ms`)
  assert.equal(await other.paused(), true, `${other.name} should still be paused after a seek while paused`)
  await assertRestingTogether(actor, other, `after ${actor.name} seeked`)
}

test('resume, pause, seek, resume: the other viewer follows (alice acts, bob seeks)', async () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  await resumeAndCheck(alice, bob)
  await pauseAndCheck(alice, bob)
  await seekAndCheck(bob, alice, 30)
  await resumeAndCheck(alice, bob)
})

test('the same with the roles swapped (bob acts, alice seeks)', async () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  await pauseAndCheck(bob, alice)
  await seekAndCheck(alice, bob, 60)
  await resumeAndCheck(bob, alice)
  await pauseAndCheck(bob, alice)
})

test('a seek made the moment the daemon has started the player is the viewer\'s own, and followed', async () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  if (!(await alice.paused())) await pauseAndCheck(alice, bob)
  await alice.userResume()
  // No reaction time: bob seeks as soon as his daemon's Play has landed (mpv has not yet
  // reported it; a read of the position may not have been made since).
  await waitFor('bob\'s daemon to start his player', async () => !(await bob.paused()), { timeoutMs: FOLLOW_DEADLINE_MS, intervalMs: 0 })
  await bob.userSeek(90)
  await waitFor('alice to follow bob to 90 s', async () => {
    const pos = await alice.positionMs()
    return pos >= 90_000 - PAUSE_TOLERANCE_MS && pos < 95_000
  }, { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow([alice, bob], PLAY_TOLERANCE_MS, 'after bob seeked as his player started')
  assert.ok(alice.proc.lines.some(l => /bob jumped to 00:01:30/.test(l)), 'alice was told that bob seeked')
  assert.ok(!(await alice.paused()) && !(await bob.paused()), 'both play on')
})

test('both terminals told the story of what happened', () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  assert.ok(bob.proc.lines.some(l => /alice paused at/.test(l)), 'bob was not told that alice paused')
  assert.ok(alice.proc.lines.some(l => /bob jumped to 00:00:30/.test(l)), 'alice was not told that bob seeked')
  assert.ok(alice.proc.lines.some(l => /bob resumed at/.test(l)), 'alice was not told that bob resumed')
})
