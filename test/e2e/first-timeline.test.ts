/**
 * A room nobody has acted in yet. Alice is already watching when bob joins: the room takes her
 * playback as its timeline and bob lands on it, instead of everyone waiting for a first action
 * (and bob's first press of play dragging alice back to 0:00). And a group's first impression:
 * three freshly started players, one presses play, and the room comes within one frame. How soon
 * is measured by `npm run bench:fresh` (skew 1 s and 3 s after the first play), not judged here:
 * held to the first five measurements, this test failed 1 run in 4 on a loaded machine.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { startBus } from '../fixtures/dbus.js'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { IN_STEP_CONSECUTIVE, waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor } from '../fixtures/wait.js'
import { allPlaying, JOIN_DEADLINE_MS, startRoom } from '../fixtures/room.js'

const FRAME_MS = 40
/** Adoption waits 1 s for a state (ADOPT_PLAYING_AFTER_MS), then the start is scheduled. */
const FOLLOW_DEADLINE_MS = 10_000

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
const viewers: Viewer[] = []

before(async () => {
  testnet = await startTestnet()
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

test('alice is watching when bob joins a room nobody acted in: bob lands where she is', async () => {
  const file = await makeMedia({ seconds: 120 })
  const make = (name: string): Viewer => {
    const v = new Viewer({ name, passphrase: 'first timeline e2e: mobale-tikuro', bootstrapArg: testnet.bootstrapArg, file })
    viewers.push(v)
    return v
  }
  const alice = make('alice')
  const bob = make('bob')
  // alice's mpv plays before her daemon starts: no action of hers is ever seen, only a playing player.
  alice.bus = await startBus()
  await alice.startPlayer()
  await alice.userResume()
  await alice.player.command(['seek', 30, 'absolute+exact'])
  alice.startDaemon()
  await alice.proc.waitForLine(/joined the room/)
  await bob.start()
  await bob.proc.waitForLine(/alice joined/)

  await waitFor('bob playing', async () => !(await bob.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  assert.ok(!(await alice.paused()), 'alice never stopped')
  assert.ok(await alice.positionMs() > 30_000, 'alice was not sent back')
  await waitForSkewBelow([alice, bob], FRAME_MS, 'bob on alice\'s timeline')
  // Where alice was when bob joined: past the 30 s she started at, and not past where she is now.
  const told = bob.proc.lines.map(l => /alice resumed at (\d\d):(\d\d):(\d\d)/.exec(l)).find(m => m !== null)
  assert.ok(told !== undefined, 'bob is told where the room is')
  const toldMs = (Number(told[1]) * 3600 + Number(told[2]) * 60 + Number(told[3])) * 1000
  assert.ok(toldMs >= 30_000 && toldMs <= await alice.positionMs(), `bob was told ${told[0]}`)
})

test('the first play of a room of freshly started players comes within one frame', async () => {
  const file = await makeMedia({ seconds: 120 })
  const room = ['carol', 'dave', 'erin'].map(name => new Viewer({ name, passphrase: 'fresh room e2e: pomaki-serudo', bootstrapArg: testnet.bootstrapArg, file }))
  viewers.push(...room)
  await startRoom(room)
  // Each daemon has reached its player (the mesh comes up first): carol's play is an action.
  for (const v of room) await v.proc.waitForLine(/following /, { timeoutMs: JOIN_DEADLINE_MS })
  await room[0]?.userResume()
  await waitFor('everyone playing', async () => await allPlaying(room, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow(room, FRAME_MS, 'the first play', { consecutive: IN_STEP_CONSECUTIVE })
})
