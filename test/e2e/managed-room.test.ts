/**
 * A managed room end to end: an operator (holding the operator secret) and two viewers. The
 * operator's actions are followed; a viewer's own pause is undone with a message saying why; a
 * member without the operator secret cannot take the operator's part. Real mpv, real daemons.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { startTestnet } from '../fixtures/testnet.js'
import { makeMedia } from '../fixtures/media.js'
import { Viewer } from '../fixtures/viewer.js'
import { maxSkewMs } from '../fixtures/skew.js'
import { runWatchmesh } from '../fixtures/watchmesh.js'
import { waitFor } from '../fixtures/wait.js'

const FRAME_MS = 40
const FOLLOW_DEADLINE_MS = 5000
/** Three fresh daemons on a loaded 2-core host took over 20 s to print their first line: a deadline only. */
const JOIN_DEADLINE_MS = 60_000
/** Fresh players need this to settle their first start (see FRESH_SETTLE_MS); a deadline here. */
const IN_STEP_DEADLINE_MS = 15_000

type Testnet = Awaited<ReturnType<typeof startTestnet>>
let testnet: Testnet
let file: string
let viewersPassphrase = ''
let operatorSecret = ''
const viewers: Viewer[] = []

before(async () => {
  testnet = await startTestnet()
  file = await makeMedia({ seconds: 120 })
  const made = await runWatchmesh(['passphrase', '--managed'])
  assert.equal(made.code, 0, made.stderr)
  viewersPassphrase = /For everyone \(share it\): +(\S+)/.exec(made.stdout)?.[1] ?? ''
  operatorSecret = /For operators only: +(\S+)/.exec(made.stdout)?.[1] ?? ''
  assert.ok(viewersPassphrase.length > 0 && operatorSecret.length > 0, made.stdout)

  const alice = new Viewer({ name: 'alice', passphrase: viewersPassphrase, bootstrapArg: testnet.bootstrapArg, file })
  viewers.push(alice, ...['bob', 'carol'].map(name => new Viewer({ name, passphrase: viewersPassphrase, bootstrapArg: testnet.bootstrapArg, file })))
  // The operator's secret sits in a file of her own session.
  await Promise.all(viewers.map(async v => {
    if (v !== alice) return await v.start()
    await v.startBusOnly()
    const secretFile = join(v.busDir, 'operator-secret')
    await writeFile(secretFile, operatorSecret + '\n', { mode: 0o600 })
    v.setJoinArgs(['--operator-file', secretFile])
    await v.startPlayer()
    v.startDaemon()
  }))
  for (const v of viewers) {
    for (const other of viewers) if (other !== v) await v.proc.waitForLine(new RegExp(`${other.name} joined`), { timeoutMs: JOIN_DEADLINE_MS })
  }
})

after(async () => {
  await Promise.allSettled(viewers.map(async v => await v.close()))
  await testnet?.close()
})

function room (): [Viewer, Viewer, Viewer] {
  return viewers as [Viewer, Viewer, Viewer]
}

async function playing (v: Viewer): Promise<boolean> {
  return !(await v.paused())
}

test('the operator plays: everyone follows, in step', async () => {
  const [alice, bob, carol] = room()
  await alice.proc.waitForLine(/you are an operator/)
  await bob.proc.waitForLine(/the operators control playback/)
  await alice.userResume()
  for (const v of [bob, carol]) await waitFor(`${v.name} to follow the operator's play`, async () => await playing(v), { timeoutMs: FOLLOW_DEADLINE_MS })
  const skew = await waitFor('the room in step', async () => {
    const s = await maxSkewMs(room().map(v => v.player))
    return s <= FRAME_MS ? s : undefined
  }, { timeoutMs: IN_STEP_DEADLINE_MS })
  console.log(`# managed room playing: max skew ${skew.toFixed(1)} ms`)
})

test('a viewer\'s own pause is undone, with a message saying why; nobody else pauses', async () => {
  const [alice, bob, carol] = room()
  const from = viewers.map(v => v.proc.lines.length)
  const t0 = performance.now()
  await bob.userPause()
  const told = await bob.proc.waitForLine(/only operators control playback in this room: your pause was undone/, { after: from[1] })
  await waitFor('bob playing again', async () => await playing(bob), { timeoutMs: FOLLOW_DEADLINE_MS })
  const backMs = performance.now() - t0
  console.log(`# bob saw: ${told}`)
  console.log(`# bob's pause undone: playing again ${backMs.toFixed(0)} ms after his pause (coarse: IPC polling)`)
  const skew = await waitFor('bob back in step', async () => {
    const s = await maxSkewMs(room().map(v => v.player))
    return s <= FRAME_MS ? s : undefined
  }, { timeoutMs: IN_STEP_DEADLINE_MS })
  console.log(`# after the undo: max skew ${skew.toFixed(1)} ms, ${(performance.now() - t0).toFixed(0)} ms after the pause`)
  assert.ok(await playing(alice) && await playing(carol))
  for (const [i, v] of [alice, carol].entries()) {
    const heard = v.proc.lines.slice(from[i === 0 ? 0 : 2]).filter(l => /bob paused/.test(l))
    assert.deepEqual(heard, [], `${v.name} was told of bob's pause`)
  }
})

test('the operator pauses: everyone pauses on the same frame', async () => {
  const [alice, bob, carol] = room()
  await alice.userPause()
  for (const v of [bob, carol]) await waitFor(`${v.name} to follow the operator's pause`, async () => !(await playing(v)), { timeoutMs: FOLLOW_DEADLINE_MS })
  const at = await alice.positionMs()
  for (const v of [bob, carol]) {
    await waitFor(`${v.name} on alice's frame`, async () => Math.abs(await v.positionMs() - at) <= FRAME_MS, { timeoutMs: FOLLOW_DEADLINE_MS })
  }
})

test('a member without the operator secret cannot claim the lock: a wrong secret is refused', async () => {
  const [alice] = room()
  const wrong = join(alice.busDir, 'guessed-secret')
  await writeFile(wrong, 'a guessed secret\n', { mode: 0o600 })
  const claim = await runWatchmesh(['join', viewersPassphrase, '--operator-file', wrong, '--bootstrap', testnet.bootstrapArg], alice.env)
  assert.equal(claim.code, 2, claim.stderr)
  assert.match(claim.stderr, /operator secret is not this room's/)
  const [, bob] = room()
  assert.deepEqual((await bob.status() as { managed?: unknown }).managed, { operator: false })
  assert.deepEqual((await alice.status() as { managed?: unknown }).managed, { operator: true })
})
