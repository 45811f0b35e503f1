/**
 * Messages on the video: with mpv over IPC, what the terminal says about other people also goes to
 * mpv's `show-text`, never the viewer's own actions, and nothing with --no-osd. Each daemon talks to
 * its real mpv through a stand-in that records every command mpv receives (fixtures/ipc-tap.ts).
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import type { IpcTap } from '../fixtures/ipc-tap.js'
import { waitFor } from '../fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS } from '../fixtures/room.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { runWatchmesh } from '../fixtures/watchmesh.js'

const PASSPHRASE = 'osd e2e: varoke-temisa-dulopi'

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
let file: string
const viewers: Viewer[] = []
const taps = new Map<string, IpcTap>()

function viewer (name: string, joinArgs: string[] = []): Viewer {
  const v = new Viewer({ name, passphrase: PASSPHRASE, bootstrapArg: testnet.bootstrapArg, file, kind: 'mpv-ipc', joinArgs, tapIpc: true })
  viewers.push(v)
  return v
}

/** Every text the daemon put on this viewer's video so far, in order. */
function shown (name: string): string[] {
  return (taps.get(name)?.commands ?? []).filter(c => c[0] === 'show-text').map(c => String(c[1]))
}

/** How many seeks this viewer's daemon has sent its player so far, and how many landed (mpv's playback-restart). */
function daemonSeeks (name: string): { sent: number, landed: number } {
  const tap = taps.get(name)
  return {
    sent: (tap?.commands ?? []).filter(c => c[0] === 'seek').length,
    landed: (tap?.events ?? []).filter(e => e === 'playback-restart').length
  }
}

/** Until this viewer's daemon has sent a seek since `before` and it landed; polled every few ms, to act at once. */
async function waitSeekLanded (name: string, before: { sent: number, landed: number }): Promise<void> {
  await waitFor(`${name}'s daemon to seek the player and it to land`, () => {
    const now = daemonSeeks(name)
    return now.sent > before.sent && now.landed > before.landed
  }, { timeoutMs: FOLLOW_DEADLINE_MS, intervalMs: 2 })
}

/**
 * Until this viewer's video has shown a line matching pattern. What was told before the daemon
 * reached its player comes as one line, its parts joined by ' · ': each part is matched alone.
 */
async function waitShown (name: string, pattern: RegExp): Promise<void> {
  await waitFor(`${name}'s video to show ${String(pattern)} (shown so far: ${JSON.stringify(shown(name))})`,
    () => shown(name).some(t => t.split(' · ').some(part => pattern.test(part))), { timeoutMs: 10_000 })
}

before(async () => {
  testnet = await startTestnet()
  file = await makeMedia({ seconds: 120 })
  const vs = [viewer('alice'), viewer('bob'), viewer('carol', ['--no-osd'])]
  await Promise.all(vs.map(async v => {
    await v.start()
    if (v.tap !== null) taps.set(v.name, v.tap)
  }))
  for (const v of vs) {
    for (const other of vs) if (other !== v) await v.proc.waitForLine(new RegExp(`${other.name} joined`))
  }
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

test('others\' joins and actions show on the video, the viewer\'s own never, nothing with --no-osd', async () => {
  const [alice, bob, carol] = viewers as [Viewer, Viewer, Viewer]
  await waitShown('alice', /^bob joined$/)
  await waitShown('alice', /^carol joined$/)
  await waitShown('bob', /^alice joined$/)

  // alice acts: bob's video says so, alice's does not.
  await alice.userResume()
  await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitShown('bob', /^alice resumed at \d\d:\d\d:\d\d$/)
  // The room settled (every daemon's start landed) before alice's next action.
  await waitForSkewBelow(viewers, FRAME_MS, 'after alice resumed')
  const before = daemonSeeks('bob')
  await alice.userPause()
  await waitShown('bob', /^alice paused at \d\d:\d\d:\d\d$/)
  // bob acts the moment his daemon's own seek to alice's frame has landed, as a fast person would:
  // its echoes are still arriving, and his seek must not be taken for one. (A seek sent within the
  // same few ms as the daemon's, before mpv ran either, is merged by mpv into the later one and
  // leaves no trace for anyone to see: the daemon's wins. No person is that fast.)
  await waitSeekLanded('bob', before)

  // bob acts: alice's video says so. It is also the barrier: had alice's own actions been put on
  // her video, they would be in her log before this line.
  await bob.userSeek(30)
  await waitShown('alice', /^bob jumped to 00:00:30$/)
  const onAlice = shown('alice')
  const onBob = shown('bob')
  console.log(`# alice's video showed: ${JSON.stringify(onAlice)}`)
  console.log(`# bob's video showed: ${JSON.stringify(onBob)}`)
  assert.ok(!onAlice.some(t => /^alice\b|\byou\b/.test(t)), 'alice\'s own actions on her video')
  assert.ok(!onBob.some(t => /^bob\b|\byou\b/.test(t)), 'bob\'s own actions on his video')

  // carol heard everything in her terminal, and nothing went to her video.
  await carol.proc.waitForLine(/bob jumped to 00:00:30/)
  assert.deepEqual(shown('carol'), [], 'carol asked for --no-osd')
  // Every message is one sanitized line, shown for a few seconds.
  for (const c of (taps.get('alice')?.commands ?? []).filter(c => c[0] === 'show-text')) {
    assert.equal(c.length, 3)
    assert.ok(typeof c[2] === 'number' && c[2] >= 1000 && c[2] <= 10_000, `shown for ${String(c[2])} ms`)
  }
})

test('chat shows on the others\' videos, sanitized, never on the sayer\'s own, nothing with --no-osd', async () => {
  const [alice, , carol] = viewers as [Viewer, Viewer, Viewer]
  const said = await runWatchmesh(['say', 'back in 5\u001b]0;owned\u0007\u001b[2J'], alice.env)
  assert.equal(said.code, 0, said.stderr)
  await waitShown('bob', /^alice: back in 5$/)
  // carol's terminal got the line too: the barrier before judging her video and alice's.
  await carol.proc.waitForLine(/alice: back in 5/)
  assert.ok(!shown('alice').some(t => /back in 5/.test(t)), `the sayer's own line on her video: ${JSON.stringify(shown('alice'))}`)
  assert.deepEqual(shown('carol'), [], 'carol asked for --no-osd')
  assert.ok(!shown('bob').some(t => /[\u0000-\u001f\u007f]|owned/.test(t)), `an escape sequence reached bob's video: ${JSON.stringify(shown('bob'))}`)
})

/**
 * How far past alice's frame bob seeks: beyond what a landing may differ from where the player was
 * (SEEKED_JUMP_MS, 120 ms) so it is a seek at all, yet close enough that our own seek there, still
 * pending, would explain it if its landing had not used it up.
 */
const NEAR_SEEK_MS = 200

test('a seek within milliseconds of the daemon\'s own seek landing, to just past it, is the viewer\'s: the room follows', async () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  if (await alice.paused()) {
    await alice.userResume()
    await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
  }
  // The room settled first: alice's pause is then the only thing bob's daemon makes his player do.
  await waitForSkewBelow(viewers, FRAME_MS, 'before alice pauses')
  const before = daemonSeeks('bob')
  await alice.userPause()
  const pausedAtMs = await alice.positionMs()
  await waitSeekLanded('bob', before)
  const targetMs = pausedAtMs + NEAR_SEEK_MS
  await bob.userSeek(targetMs / 1000)
  let seen: number[] = []
  await waitFor(`every player paused within a frame of bob's ${targetMs.toFixed(0)} ms (alice paused at ${pausedAtMs.toFixed(0)})`, async () => {
    seen = await Promise.all(viewers.map(async v => Math.round(await v.positionMs())))
    return (await allPlaying(viewers, false)) && seen.every(p => Math.abs(p - targetMs) <= FRAME_MS)
  }, { timeoutMs: FOLLOW_DEADLINE_MS }).catch((err: Error) => {
    throw new Error(`${err.message}; players last at ${seen.join(', ')} ms`)
  })
  console.log(`# alice paused at ${pausedAtMs.toFixed(0)} ms; bob sought to ${targetMs.toFixed(0)} ms as his daemon's seek landed; players at ${seen.join(', ')} ms`)
})
