/**
 * Track changes: when one viewer moves to the next episode, the others follow when they
 * have that file beside their current one — their player is told to open it, and the room goes on
 * in step on the new file. A viewer whose copy has another name (and the same length) is followed.
 */
import { test, after, before } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { waitForSkewBelow } from '../fixtures/skew.js'
import { waitFor } from '../fixtures/wait.js'

const FRAME_MS = 40
/** A deadline, not a measurement: following takes well under a second on an idle machine. */
const FOLLOW_DEADLINE_MS = 15_000

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
let episode2: string
const viewers: Viewer[] = []

before(async () => {
  testnet = await startTestnet()
  // Two episodes in one folder, as a series is kept; everyone starts on the first.
  const episode1 = await makeMedia({ seconds: 60, name: 'episode-1' })
  episode2 = await makeMedia({ seconds: 60, name: 'episode-2' })
  for (const name of ['alice', 'bob']) {
    viewers.push(new Viewer({ name, passphrase: 'track change e2e: tavoki-ramelu', bootstrapArg: testnet.bootstrapArg, file: episode1 }))
  }
  await Promise.all(viewers.map(async v => await v.start()))
  await viewers[0]!.proc.waitForLine(/bob joined/)
  await viewers[1]!.proc.waitForLine(/alice joined/)
  // The mesh starts before the player is reached: each daemon follows its player before alice
  // changes file in it (a file changed before that is the player's state at attach, not an action).
  for (const v of viewers) await v.proc.waitForLine(/following /)
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

/** A copy of `file` named `name`, alone in a folder removed after the test. */
async function copyInOwnFolder (t: TestContext, file: string, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wm-copy-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const copy = join(dir, name)
  await copyFile(file, copy)
  return copy
}

async function fileOf (v: Viewer): Promise<string> {
  return String(await v.player.command(['get_property', 'filename']))
}

test('alice opens the next episode: bob\'s player opens it too, and they play on in step', async () => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  await alice.player.command(['loadfile', episode2])
  await waitFor('bob to open episode-2', async () => await fileOf(bob) === 'episode-2.mkv', { timeoutMs: FOLLOW_DEADLINE_MS })
  assert.ok(bob.proc.lines.some(l => /alice is playing episode-2\.mkv, you episode-1\.mkv: opening episode-2\.mkv/.test(l)),
    'bob was told why his player changed file')
  assert.equal(await bob.paused(), true, 'opening the file keeps the room paused')
  // Opening the file is not bob's action: alice still leads, nobody was told that bob switched.
  assert.ok(!alice.proc.lines.some(l => /bob switched/.test(l)), 'bob\'s daemon opened the file; that is not a user action')

  await alice.userResume()
  await waitFor('bob to play episode-2', async () => !(await bob.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow([alice, bob], FRAME_MS, 'on the new episode')
  assert.equal(await fileOf(bob), 'episode-2.mkv')
  assert.ok(!(await alice.paused()) && !(await bob.paused()), 'both play on')
})

test('alice moves to a file bob lacks: the room waits for him (bounded), then plays on in step', async t => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  // episode-3 lives only in alice's folder.
  const episode3 = await copyInOwnFolder(t, episode2, 'episode-3.mkv')

  await alice.userPause()
  await waitFor('bob to pause', async () => await bob.paused(), { timeoutMs: FOLLOW_DEADLINE_MS })
  const mark = alice.proc.lines.length
  await alice.player.command(['loadfile', episode3])
  await bob.proc.waitForLine(/alice is playing episode-3\.mkv, you episode-2\.mkv: open episode-3\.mkv to follow/)
  await alice.userResume()
  await alice.proc.waitForLine(/waiting for bob to open episode-3\.mkv \(at most \d+ s\)/, { after: mark })
  await waitFor('alice held for bob', async () => await alice.paused(), { timeoutMs: FOLLOW_DEADLINE_MS })

  // bob opens it himself: the wait is over, both play episode-3 in step.
  await bob.player.command(['loadfile', episode3])
  await alice.proc.waitForLine(/everyone has the file; resuming/, { after: mark })
  await waitFor('both playing', async () => !(await alice.paused()) && !(await bob.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow([alice, bob], FRAME_MS, 'after waiting for bob')
  assert.equal(await fileOf(bob), 'episode-3.mkv')
  assert.ok(!(await alice.paused()) && !(await bob.paused()), 'both play on')
})

test('a viewer whose copy has another name joins the room on it, in step', async t => {
  const [alice, bob] = viewers as [Viewer, Viewer]
  // carol's copy of episode-3, named as her download was: the same length, another name.
  const copy = await copyInOwnFolder(t, episode2, 'My Show - third one [720p].mkv')
  if (await alice.paused()) await alice.userResume()
  const carol = new Viewer({ name: 'carol', passphrase: 'track change e2e: tavoki-ramelu', bootstrapArg: testnet.bootstrapArg, file: copy })
  viewers.push(carol)
  await carol.start()
  await carol.proc.waitForLine(/is playing episode-3\.mkv, you My Show - third one \[720p\]\.mkv: the same length, so taken as the same film/)
  await waitFor('carol playing', async () => !(await carol.paused()), { timeoutMs: FOLLOW_DEADLINE_MS })
  await waitForSkewBelow([alice, bob, carol], FRAME_MS, 'carol on her own copy')
  assert.ok(!carol.proc.lines.some(l => /open episode-3\.mkv to follow/.test(l)), 'carol is not told to open another file')
})
