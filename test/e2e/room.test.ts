/**
 * A room as people use it: three viewers taking turns, a daemon crash and restart, a player
 * crash and restart, a daemon frozen as in a suspend, a late joiner, a stranger with the wrong passphrase, and `watchmesh status`
 * telling the truth throughout. Real processes, real mpv, private buses, a local testnet.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor } from '../fixtures/wait.js'
import { allPlaying, crashAndRestartDaemon, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../fixtures/room.js'

const PASSPHRASE = 'room e2e: tavoki-ramelu-sopina'
/** Daemons on one machine share its wall clock; loopback RTT is < 1 ms, so offsets bound by it. */
const MAX_SAME_HOST_OFFSET_MS = 5
/** How far apart two daemons' clocks on one machine start (each reads the wall clock once, src/clock.ts). */
const CLOCK_START_SLACK_MS = 1

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
let file: string
const viewers: Viewer[] = []

function viewer (name: string, passphrase = PASSPHRASE): Viewer {
  const v = new Viewer({ name, passphrase, bootstrapArg: testnet.bootstrapArg, file })
  viewers.push(v)
  return v
}

before(async () => {
  testnet = await startTestnet()
  // Long enough that the room never plays into the end (seeks go up to 80 s; tests run minutes on a busy machine).
  file = await makeMedia({ seconds: 300 })
  await startRoom(['alice', 'bob', 'carol'].map(n => viewer(n)))
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

/** Each test starts from a playing room, whatever an earlier test left behind. */
async function ensurePlaying (): Promise<void> {
  const vs = room()
  if (!(await allPlaying(vs, true))) {
    await vs[0].userResume()
    await waitFor('the room playing', async () => await allPlaying(vs, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  }
}

function room (): [Viewer, Viewer, Viewer] {
  return viewers.slice(0, 3) as [Viewer, Viewer, Viewer]
}



/** The players (by their own clocks) come within one frame of each other and stay there. */
async function assertInStep (vs: Viewer[], label: string): Promise<void> {
  await waitForSkewBelow(vs, FRAME_MS, label)
}

/**
 * `back` rejoins a room that plays on: the whole room comes within a frame and stays there; prints
 * how long that took since `sinceMs` (coarse: each skew measurement averages ~0.4 s of samples, and
 * three in a row are asked for; the precise figure comes from bench:sync).
 */
async function assertBackInStep (back: Viewer, sinceMs: number, label: string): Promise<void> {
  await assertInStep(room(), `after the ${label}`)
  console.log(`# ${label}: ${back.name} in step and holding ${(performance.now() - sinceMs).toFixed(0)} ms after coming back`)
  assert.ok(await allPlaying(room(), true), 'the room plays on')
}

test('three viewers take turns: pause, seek, resume from each; within one frame after settling', async () => {
  const vs = room()
  for (const [i, actor] of vs.entries()) {
    await actor.userResume()
    await waitFor('everyone playing', async () => await allPlaying(vs, true), { timeoutMs: FOLLOW_DEADLINE_MS })
    await assertInStep(vs, `${actor.name} resumed`)

    const pauser = vs[(i + 1) % vs.length]!
    await pauser.userPause()
    await waitFor('everyone paused', async () => await allPlaying(vs, false), { timeoutMs: FOLLOW_DEADLINE_MS })
    await assertInStep(vs, `${pauser.name} paused`)

    const seeker = vs[(i + 2) % vs.length]!
    const targetS = 20 + 15 * i
    await seeker.userSeek(targetS)
    await waitFor(`everyone at ${targetS} s`, async () => {
      const positions = await Promise.all(vs.map(async v => await v.positionMs()))
      return positions.every(p => Math.abs(p - targetS * 1000) <= FRAME_MS)
    }, { timeoutMs: FOLLOW_DEADLINE_MS })
    await assertInStep(vs, `${seeker.name} seeked`)
  }
  await vs[0].userResume()
  await waitFor('everyone playing again', async () => await allPlaying(vs, true), { timeoutMs: FOLLOW_DEADLINE_MS })
})

test('status --json tells who is here, who leads and what plays', async () => {
  await ensurePlaying()
  const vs = room()
  // bob acts at once, while the daemons' own starts may still be landing (his seek is his, not
  // their echo), and acts last, so bob leads. Not to 50 s, where the turns above left the room:
  // a room quick to resume has played only ~0.1 s from there, and a seek that small is no jump.
  await vs[1].userSeek(65)
  await waitFor('everyone past 65 s', async () => (await Promise.all(vs.map(async v => await v.positionMs()))).every(p => p >= 65_000 - FRAME_MS && p < 70_000),
    { timeoutMs: FOLLOW_DEADLINE_MS })
  for (const v of vs) {
    const s = await v.status()
    assert.equal(s.name, v.name)
    assert.deepEqual(s.peers.map(p => p.name).sort(), vs.filter(o => o !== v).map(o => o.name).sort())
    for (const p of s.peers) {
      assert.equal(typeof p.key, 'string')
      assert.ok(p.rttMs !== null && p.rttMs >= 0, `${v.name} has no RTT to ${p.name}`)
      assert.ok(p.offsetMs !== null, `${v.name} has no clock offset to ${p.name}`)
      // One machine, one wall clock: every daemon's clock starts from it (src/clock.ts), so what the
      // pings measured must be close to 0, or within what the daemon says a lopsided path could hide
      // (on a loaded host a ping's two halves can differ by a few ms: -5.2 ms was seen).
      const boundMs = Math.max(MAX_SAME_HOST_OFFSET_MS, (p.offsetUncertaintyMs ?? 0) + CLOCK_START_SLACK_MS)
      assert.ok(Math.abs(p.offsetMs) <= boundMs, `${v.name} measured ${p.offsetMs} ms to ${p.name} on the same machine, +-${p.offsetUncertaintyMs} ms uncertain`)
    }
    assert.ok(s.playback !== null)
    assert.equal(s.playback.playing, true)
    assert.equal(s.leaderName, 'bob', 'bob acted last, so bob leads')
    assert.equal(s.leader, s.peers.find(p => p.name === 'bob')?.key ?? s.key)
  }
})

test('a daemon killed mid-playback comes back in sync; the others never stop', async () => {
  await ensurePlaying()
  const [alice, bob, carol] = room()
  // The others notice the crash through keepalive, and keep playing.
  const back = await crashAndRestartDaemon(bob, [alice, carol])
  await assertBackInStep(bob, back, 'daemon restart')
})

test('a player killed and started again on the same file is brought back in step', async () => {
  await ensurePlaying()
  const [alice, bob, carol] = room()
  carol.player.kill('SIGKILL')
  await carol.proc.waitForLine(/went away/)
  assert.ok(await allPlaying([alice, bob], true))
  await carol.startPlayer()
  const up = performance.now()
  assert.ok(await allPlaying([alice, bob], true), 'the others never stopped')
  await waitFor('carol playing again', async () => !(await carol.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await assertBackInStep(carol, up, 'player restart')
})

test('a daemon frozen (a laptop lid closed) while the room moves on comes back in step', async () => {
  await ensurePlaying()
  const [alice, bob, carol] = room()
  // SIGSTOP: the process keeps its sockets and state but runs nothing, as in a suspend; its mpv
  // plays on by itself meanwhile.
  const seen = alice.proc.lines.length
  bob.proc.kill('SIGSTOP')
  try {
    await alice.proc.waitForLine(/lost contact with bob/, { timeoutMs: 10_000, after: seen })
    await alice.userSeek(80)
    await waitFor('alice and carol at 80 s', async () => (await Promise.all([alice, carol].map(async v => await v.positionMs()))).every(p => p >= 80_000 - FRAME_MS && p < 85_000),
      { timeoutMs: FOLLOW_DEADLINE_MS })
  } finally {
    bob.proc.kill('SIGCONT')
  }
  await assertBackInStep(bob, performance.now(), 'freeze')
})

test('a late joiner lands in step with a room that is playing', async () => {
  await ensurePlaying()
  const vs = room()
  const dave = viewer('dave')
  await dave.start()
  await dave.proc.waitForLine(/alice joined/)
  await waitFor('dave playing', async () => !(await dave.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await assertInStep([...vs, dave], 'late joiner')
})

test('a viewer with the wrong passphrase never affects anyone and is told why nobody answers', async () => {
  await ensurePlaying()
  const vs = room()
  const mallory = viewer('mallory', 'not the room passphrase')
  await mallory.start()
  await mallory.userSeek(5)
  await mallory.proc.waitForLine(/nobody/i, { timeoutMs: 30_000 })
  assert.ok(await allPlaying(vs, true), 'the stranger must not pause the room')
  for (const v of vs) assert.ok(!v.proc.lines.some(l => /mallory/.test(l)), `${v.name} heard of mallory`)
  await mallory.close()
})
