/**
 * A room of a real VLC and two real mpv: play, a seek at the VLC viewer, a pause, a resume at the
 * VLC viewer; after each, every player (VLC read by the frame it shows, mpv by its own clock) comes
 * within one frame of the others and stays there, and nobody is told of a seek or a speed change
 * that nobody made. VLC's MPRIS position is coarse and stale (~1 s
 * steps headless), which is what this room puts to the test. Skipped, with the reason, where VLC
 * cannot run (not installed; as root without an unprivileged user to run it as).
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { VlcViewer } from '../fixtures/vlc-viewer.js'
import { vlcUnavailable } from '../fixtures/vlc.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor } from '../fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../fixtures/room.js'

const PASSPHRASE = 'vlc room e2e: tolavi-semuno-rakipe'
/** Where the VLC viewer seeks to: a whole second, as a seek bar lands. */
const SEEK_TARGET_S = 60

const unavailable = await vlcUnavailable()
let testnet: LocalTestnet | undefined
let alice: Viewer
let bob: Viewer
let carol: VlcViewer

before(async () => {
  if (unavailable !== null) return
  testnet = await startTestnet()
  const file = await makeMedia({ seconds: 120, frameStamped: true })
  const common = { passphrase: PASSPHRASE, bootstrapArg: testnet.bootstrapArg, file }
  alice = new Viewer({ name: 'alice', ...common })
  bob = new Viewer({ name: 'bob', ...common })
  carol = new VlcViewer({ name: 'carol', ...common })
  await startRoom([alice, bob, carol])
})

after(async () => {
  await Promise.allSettled([alice, bob, carol].filter(v => v !== undefined).map(async v => await v.close()))
  await testnet?.close()
})

/** All three within one frame, several measurements in a row; on failure, where each one was. */
async function inStep (label: string): Promise<void> {
  await waitForSkewBelow([alice, bob, carol], FRAME_MS, label).catch(async (err: unknown) => {
    const seen = await Promise.all([alice, bob, carol].map(async v => `${v.name} ${(await v.paused()) ? 'paused' : 'playing'} at ${(await v.positionMs()).toFixed(0)} ms`))
    throw new Error(`${String(err)}; at the end: ${seen.join(', ')}`)
  })
}

/**
 * What a viewer was told of seeks and speed changes, without the time. A seek or speed change
 * nobody made is a command of the daemon's own (a start, a drift correction) taken for the
 * viewer's, and told to everyone.
 */
function toldJumpsAndSpeeds (v: Viewer | VlcViewer): string[] {
  return v.proc.lines.map(l => l.replace(/^\d\d:\d\d:\d\d /, '')).filter(l => /jumped to|set the speed|changed the speed/.test(l))
}

async function everyone (playing: boolean): Promise<void> {
  await waitFor(`everyone ${playing ? 'playing' : 'paused'}`, async () => await allPlaying([alice, bob, carol], playing), { timeoutMs: FOLLOW_DEADLINE_MS })
}

test('VLC and two mpv: play, a seek at VLC, pause, resume at VLC; within one frame after each', { skip: unavailable ?? false }, async (t) => {
  // On failure, what VLC's daemon said (the test's own waits print alice's).
  t.after(() => { if (carol !== undefined) t.diagnostic(`carol printed:\n${carol.proc.lines.join('\n')}`) })
  await alice.userResume()
  await everyone(true)
  await inStep('alice (mpv) played')

  const seen = alice.proc.lines.length
  await carol.userSeek(SEEK_TARGET_S)
  await waitFor(`everyone past ${SEEK_TARGET_S} s`, async () => {
    const positions = await Promise.all([alice, bob, carol].map(async v => await v.positionMs()))
    return positions.every(p => p >= SEEK_TARGET_S * 1000 - FRAME_MS && p < (SEEK_TARGET_S + 5) * 1000)
  }, { timeoutMs: FOLLOW_DEADLINE_MS })
  await inStep('carol (VLC) seeked')
  // Everyone reads the same second: the seek bar's, not where VLC's stale reading put it.
  await alice.proc.waitForLine(/carol jumped to 00:01:00/, { after: seen })
  await carol.proc.waitForLine(/you jumped to 00:01:00/)

  await bob.userPause()
  await everyone(false)
  await inStep('bob (mpv) paused')

  await carol.userResume()
  await everyone(true)
  await inStep('carol (VLC) resumed')
  assert.ok(await allPlaying([alice, bob, carol], true), 'the room plays on')
  // Nobody was told of a seek or a speed change but carol's one seek.
  assert.deepEqual([alice, bob, carol].map(v => [v.name, toldJumpsAndSpeeds(v)]),
    [['alice', ['carol jumped to 00:01:00']], ['bob', ['carol jumped to 00:01:00']], ['carol', ['you jumped to 00:01:00']]])
})
