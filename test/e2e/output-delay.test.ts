/**
 * Headphone and TV delay end to end: a viewer whose sound reaches them 200 ms late runs their
 * player 200 ms ahead of the room, measured on the players themselves (mpv's time-pos over IPC).
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { skewMs } from '../fixtures/skew.js'
import { waitFor, waitForRun } from '../fixtures/wait.js'

const OUTPUT_DELAY_MS = 200
const FRAME_MS = 40
const FOLLOW_DEADLINE_MS = 5000
/** Three fresh daemons on a loaded 2-core host took over 20 s to print their first line: a deadline only. */
const JOIN_DEADLINE_MS = 60_000
/** Fresh players settle their first start in ~6 s (FRESH_SETTLE_MS); a deadline, not a wait. */
const AHEAD_DEADLINE_MS = 20_000
/** Measurements in a row that must hold. */
const SAMPLES = 3

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
const viewers: Viewer[] = []

before(async () => {
  testnet = await startTestnet()
  const file = await makeMedia({ seconds: 120 })
  viewers.push(
    new Viewer({ name: 'alice', passphrase: 'output delay e2e: rokuma-tivesa', bootstrapArg: testnet.bootstrapArg, file }),
    new Viewer({ name: 'bob', passphrase: 'output delay e2e: rokuma-tivesa', bootstrapArg: testnet.bootstrapArg, file, joinArgs: ['--output-delay', String(OUTPUT_DELAY_MS)] })
  )
  await Promise.all(viewers.map(async v => await v.start()))
  const [alice, bob] = viewers as [Viewer, Viewer]
  await alice.proc.waitForLine(/bob joined/, { timeoutMs: JOIN_DEADLINE_MS })
  await bob.proc.waitForLine(/alice joined/, { timeoutMs: JOIN_DEADLINE_MS })
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

function withinAFrameOfTheDelay (aheadMs: number): boolean {
  return Math.abs(aheadMs - OUTPUT_DELAY_MS) <= FRAME_MS
}

for (const actor of ['alice', 'bob']) {
  test(`--output-delay ${OUTPUT_DELAY_MS}: bob's player runs that far ahead of alice's when ${actor} resumes; status shows it`, async () => {
    const [alice, bob] = viewers as [Viewer, Viewer]
    const who = actor === 'alice' ? alice : bob
    const other = actor === 'alice' ? bob : alice
    if (!(await alice.paused())) {
      await alice.userPause()
      await waitFor('bob paused', async () => await bob.paused(), { timeoutMs: FOLLOW_DEADLINE_MS })
      const at = await alice.positionMs()
      // The resume follows at once, as a fast person's would: the daemon's own pause and seek may
      // not even be reported yet (mpv batches its signals ~100 ms), and the resume is still the viewer's.
      await waitFor('bob on alice\'s frame', async () => Math.abs(await bob.positionMs() - at) <= FRAME_MS, { timeoutMs: FOLLOW_DEADLINE_MS, intervalMs: 2 })
    }
    await who.userResume()
    await waitFor(`${other.name} to follow`, async () => !(await other.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
    const seen = await waitForRun(`bob ${OUTPUT_DELAY_MS} ms ahead of alice, within a frame`, async () => await skewMs(alice.player, bob.player),
      withinAFrameOfTheDelay, { consecutive: SAMPLES, timeoutMs: AHEAD_DEADLINE_MS, show: v => `${v.toFixed(1)} ms` })
    console.log(`# ${actor} resumed: bob ahead by ${seen.map(v => v.toFixed(1)).join(', ')} ms (target ${OUTPUT_DELAY_MS})`)
    assert.equal((await bob.status() as { outputDelayMs?: unknown }).outputDelayMs, OUTPUT_DELAY_MS)
  })
}

test('paused, both rest on the same frame (there is nothing to hear)', async () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  await bob.userPause()
  await waitFor('alice paused', async () => await alice.paused(), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitFor('bob and alice on one frame', async () => Math.abs(await bob.positionMs() - await alice.positionMs()) <= FRAME_MS, { timeoutMs: FOLLOW_DEADLINE_MS })
})
