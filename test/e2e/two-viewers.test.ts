/**
 * End to end, as two users would run it: two real `watchmesh join` processes, each with its own
 * private D-Bus session bus and real mpv, meeting through a local Hyperswarm testnet. The users
 * drive their own mpv (its IPC input, not the daemon); the other mpv must follow.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { skewMs } from '../fixtures/skew.js'
import { waitFor } from '../fixtures/wait.js'

/** Targets: pause lands within 50 ms of the pauser's position; playing within 80 ms. */
const PAUSE_TOLERANCE_MS = 50
const PLAY_TOLERANCE_MS = 80
/** Deadline for a followed action to show up on the other side (a deadline, not a measurement). */
const FOLLOW_DEADLINE_MS = 5000
/** Drift correction gets this long to converge after a resume before the skew is measured. */
const SETTLE_MS = 1500
/**
 * People react to what they see no faster than this; acting sooner would race the daemon's own
 * seek that is still landing (mpv merges the two into one Seeked, which is rightly taken as ours).
 */
const HUMAN_REACTION_MS = 300

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
const viewers: Viewer[] = []

before(async () => {
  testnet = await startTestnet()
  const file = await makeMedia({ seconds: 120 })
  for (const name of ['alice', 'bob']) {
    viewers.push(new Viewer({ name, passphrase: 'two viewers e2e', bootstrapArg: testnet.bootstrapArg, file }))
  }
  await Promise.all(viewers.map(async v => await v.start()))
  const [alice, bob] = viewers as [Viewer, Viewer]
  await alice.proc.waitForLine(/bob joined/)
  await bob.proc.waitForLine(/alice joined/)
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

async function resumeAndCheck (actor: Viewer, other: Viewer): Promise<void> {
  await actor.userResume()
  await waitFor(`${other.name} to resume`, async () => !(await other.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await sleep(SETTLE_MS)
  assert.equal(await actor.paused(), false, `${actor.name} stopped playing`)
  assert.equal(await other.paused(), false, `${other.name} stopped playing`)
  const skew = await skewMs(actor.player, other.player)
  console.log(`# skew after ${actor.name} resumed: ${skew.toFixed(1)} ms`)
  assert.ok(Math.abs(skew) <= PLAY_TOLERANCE_MS, `playing skew ${skew.toFixed(1)} ms exceeds ${PLAY_TOLERANCE_MS} ms`)
}

async function pauseAndCheck (actor: Viewer, other: Viewer): Promise<void> {
  await actor.userPause()
  await waitFor(`${other.name} to pause`, async () => await other.paused(), { timeoutMs: FOLLOW_DEADLINE_MS })
  const actorMs = await actor.positionMs()
  await waitFor(`${other.name} to land on ${actor.name}'s position`, async () => Math.abs(await other.positionMs() - actorMs) <= PAUSE_TOLERANCE_MS,
    { timeoutMs: FOLLOW_DEADLINE_MS })
  await sleep(HUMAN_REACTION_MS)
  // Where both rest once everything has landed: that is what the viewers see.
  const skew = await other.positionMs() - await actor.positionMs()
  console.log(`# skew after ${actor.name} paused: ${skew.toFixed(1)} ms`)
  assert.ok(Math.abs(skew) <= PAUSE_TOLERANCE_MS, `paused ${skew.toFixed(1)} ms apart`)
  assert.equal(await actor.paused(), true)
  assert.equal(await other.paused(), true)
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
  console.log(`# skew after ${actor.name} seeked: ${(otherMs - actorMs).toFixed(1)} ms`)
  assert.ok(Math.abs(otherMs - actorMs) <= PAUSE_TOLERANCE_MS)
  assert.equal(await other.paused(), true, `${other.name} should still be paused after a seek while paused`)
  await sleep(HUMAN_REACTION_MS)
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

test('both terminals told the story of what happened', () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  assert.ok(bob.proc.lines.some(l => /alice paused at/.test(l)), 'bob was not told that alice paused')
  assert.ok(alice.proc.lines.some(l => /bob jumped to 00:00:30/.test(l)), 'alice was not told that bob seeked')
  assert.ok(alice.proc.lines.some(l => /bob resumed at/.test(l)), 'alice was not told that bob resumed')
})
