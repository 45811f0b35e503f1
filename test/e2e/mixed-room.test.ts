/**
 * A room of the three ways in: alice through `join --open` (watchmesh starts her mpv), bob through
 * `join --mpv-ipc` (an mpv he started, no D-Bus anywhere in his session), carol through MPRIS. The
 * steps of the room e2e: resume, pause and seek by each; bob's daemon killed and restarted; bob's
 * mpv killed and a new one opened on the same IPC path; a late joiner through `--open`. After each
 * step the test waits (with a deadline) until every player, by its own clock, is within one frame.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import type { ViewerKind } from '../fixtures/viewer.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor } from '../fixtures/wait.js'
import { allPlaying, crashAndRestartDaemon, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../fixtures/room.js'

const PASSPHRASE = 'mixed room e2e: lomati-resavu-kipone'

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
let file: string
const viewers: Viewer[] = []

function viewer (name: string, kind: ViewerKind): Viewer {
  const v = new Viewer({ name, passphrase: PASSPHRASE, bootstrapArg: testnet.bootstrapArg, file, kind })
  viewers.push(v)
  return v
}

function room (): [Viewer, Viewer, Viewer] {
  return viewers.slice(0, 3) as [Viewer, Viewer, Viewer]
}

before(async () => {
  testnet = await startTestnet()
  file = await makeMedia({ seconds: 120 })
  await startRoom([viewer('alice', 'open'), viewer('bob', 'mpv-ipc'), viewer('carol', 'mpris')])
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

/**
 * Waits until the players are within one frame of each other in several measurements in a row
 * (fixtures/skew.ts: every measurement is listed on failure, with where each player was); prints
 * how long that took since `sinceMs`.
 */
async function waitInStep (vs: Viewer[], label: string, sinceMs = performance.now()): Promise<number> {
  await waitForSkewBelow(vs, FRAME_MS, label).catch(async (err: unknown) => {
    const seen = await Promise.all(vs.map(async v => `${v.name} ${(await v.paused()) ? 'paused' : 'playing'} at ${(await v.positionMs()).toFixed(0)} ms`))
    throw new Error(`${String(err)}; at the end: ${seen.join(', ')}`)
  })
  const tookMs = performance.now() - sinceMs
  console.log(`# ${label}: in step ${tookMs.toFixed(0)} ms after the step`)
  return tookMs
}

async function ensurePlaying (): Promise<void> {
  const vs = room()
  if (!(await allPlaying(vs, true))) {
    await vs[0].userResume()
    await waitFor('the room playing', async () => await allPlaying(vs, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  }
  await waitInStep(vs, 'playing')
}

test('the ways in are what they say: alice and bob over IPC with no D-Bus, carol over MPRIS', async () => {
  const [alice, bob, carol] = room()
  await alice.proc.waitForLine(/started mpv on .*following it/)
  await alice.proc.waitForLine(/following mpv [\d.]+ \(mpv IPC /)
  await bob.proc.waitForLine(/following mpv [\d.]+ \(mpv IPC /)
  await carol.proc.waitForLine(/following .*org\.mpris\.MediaPlayer2\.mpv/)
  // What the daemons really run with (their environment as the kernel holds it), not what we meant to pass.
  for (const v of [alice, bob]) {
    const environ = await readFile(`/proc/${v.proc.pid}/environ`, 'utf8')
    assert.ok(!environ.split('\0').some(e => e.startsWith('DBUS_SESSION_BUS_ADDRESS=')), `${v.name}'s daemon has a session bus address`)
  }
})

test('each takes a turn: resume, pause and seek from each way in; in step after each', async () => {
  const vs = room()
  for (const [i, actor] of vs.entries()) {
    await actor.userResume()
    await waitFor('everyone playing', async () => await allPlaying(vs, true), { timeoutMs: FOLLOW_DEADLINE_MS })
    await waitInStep(vs, `${actor.name} (${actor.kind}) resumed`)

    const pauser = vs[(i + 1) % vs.length]!
    await pauser.userPause()
    await waitFor('everyone paused', async () => await allPlaying(vs, false), { timeoutMs: FOLLOW_DEADLINE_MS })
    await waitInStep(vs, `${pauser.name} (${pauser.kind}) paused`)

    const seeker = vs[(i + 2) % vs.length]!
    const targetS = 20 + 15 * i
    await seeker.userSeek(targetS)
    await waitFor(`everyone at ${targetS} s`, async () => {
      const positions = await Promise.all(vs.map(async v => await v.positionMs()))
      return positions.every(p => Math.abs(p - targetS * 1000) <= FRAME_MS)
    }, { timeoutMs: FOLLOW_DEADLINE_MS })
    await waitInStep(vs, `${seeker.name} (${seeker.kind}) seeked`)
  }
})

test('bob\'s daemon (over IPC) killed mid-playback comes back and finds his mpv in step', async () => {
  await ensurePlaying()
  const [alice, bob, carol] = room()
  const back = await crashAndRestartDaemon(bob, [alice, carol])
  await waitInStep(room(), 'daemon kill -9 + restart (bob, --mpv-ipc)', back)
  assert.ok(await allPlaying(room(), true), 'the room plays on')
})

test('bob\'s mpv killed and a new one opened on the same IPC path is followed and brought to the room', async () => {
  await ensurePlaying()
  const [alice, , carol] = room()
  const bob = room()[1]
  const seen = bob.proc.lines.length
  bob.player.kill('SIGKILL')
  await bob.proc.waitForLine(/went away/, { after: seen })
  assert.ok(await allPlaying([alice, carol], true))
  await bob.startPlayer()
  const up = performance.now()
  await bob.proc.waitForLine(/following mpv/, { after: seen })
  await waitFor('bob playing again', async () => !(await bob.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitInStep(room(), 'player kill -9 + reopen on the same IPC path (bob)', up)
  assert.ok(await allPlaying(room(), true), 'the others never stopped')
})

test('a late joiner through --open lands in step with a playing room (time from join to in step)', async () => {
  await ensurePlaying()
  const vs = room()
  const dave = viewer('dave', 'open')
  const startedMs = performance.now()
  await dave.start()
  await dave.proc.waitForLine(/alice joined/)
  await waitFor('dave playing', async () => !(await dave.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  const tookMs = await waitInStep([...vs, dave], 'late joiner through --open', startedMs)
  console.log(`# join --open to in step in a playing room: ${tookMs.toFixed(0)} ms`)
})

test('closing the mpv that --open started leaves the room', async () => {
  const dave = viewers[3]
  assert.ok(dave !== undefined)
  const seen = viewers[0]!.proc.lines.length
  dave.player.kill('SIGTERM')
  await dave.proc.waitForLine(/leaving the room \(mpv was closed/)
  assert.equal(await dave.proc.exited(), 0)
  await viewers[0]!.proc.waitForLine(/dave left/, { after: seen })
})
