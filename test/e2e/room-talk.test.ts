/**
 * What a room says to the people in it: chat seen in the other terminals, scrubbing told once per
 * burst, a lost peer told without transport details, and a clean leave while the DHT is out of
 * reach. Real processes, real mpv, private buses, a local testnet.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Viewer } from '../fixtures/viewer.js'
import { roomForFile } from '../fixtures/file-room.js'
import { startBus } from '../fixtures/dbus.js'
import { runWatchmesh, spawnWatchmesh } from '../fixtures/watchmesh.js'
import { waitFor } from '../fixtures/wait.js'
import { formatTimecode } from '../../src/daemon/format.js'
import { request } from '../../src/daemon/control.js'
import { controlPath } from '../../src/daemon/paths.js'
import { CHAT_BURST } from '../../src/daemon/chat.js'

const PASSPHRASE = 'room talk e2e: vomika-tesura-bilane'
const FOLLOW_DEADLINE_MS = 5000
/** A seek every this often is scrubbing: far inside the narrator's quiet time. */
const SCRUB_STEP_MS = 60

const viewers = roomForFile({ passphrase: PASSPHRASE, mediaSeconds: 120, viewers: ['alice', 'bob', 'carol'].map(name => ({ name, joinArgs: ['--log-json'] })) })

function room (): [Viewer, Viewer, Viewer] {
  return viewers as [Viewer, Viewer, Viewer]
}

function logged (line: string): { time: string, level: string, msg: string } {
  return JSON.parse(line) as { time: string, level: string, msg: string }
}

test('watchmesh say: the line is shown in every other terminal, sanitized; a flood is refused', async () => {
  const [alice, bob, carol] = room()
  const from = bob.proc.lines.length
  const said = await runWatchmesh(['say', 'back in 5\u001b[2J'], alice.env)
  assert.equal(said.code, 0, said.stderr)
  const mine = logged(await alice.proc.waitForLine(/"you: back in 5"/))
  const seen = await Promise.all([bob, carol].map(async v => logged(await v.proc.waitForLine(/"alice: back in 5"/, { timeoutMs: FOLLOW_DEADLINE_MS, after: from }))))
  for (const line of seen) assert.equal(line.msg, 'alice: back in 5', 'the escape sequence never reaches a terminal')
  const latencies = seen.map(l => Date.parse(l.time) - Date.parse(mine.time))
  console.log(`# chat, alice's daemon -> other terminals: ${latencies.join(', ')} ms (log timestamps, ms resolution)`)

  const empty = await runWatchmesh(['say', '\u0007'], alice.env)
  assert.equal(empty.code, 2, 'nothing printable to say is a usage error')
  const tooLong = await runWatchmesh(['say', 'x'.repeat(201)], alice.env)
  assert.equal(tooLong.code, 2)
  assert.match(tooLong.stderr, /at most 200 characters/)
  // Straight at the control socket (a CLI process per line would be slower than the rate).
  const replies: unknown[] = []
  for (let i = 0; i < 10; i++) replies.push(await request(controlPath(carol.env), 'say', `flood ${i}`))
  const refused = replies.filter(r => (r as { code?: unknown }).code === 'RATE_LIMITED')
  assert.ok(refused.length >= 10 - CHAT_BURST - 1, `a burst of 10 lines was not held back: ${JSON.stringify(replies)}`)
})

test('scrubbing: twelve seeks within a second are told once, with where they ended', async () => {
  const [alice, bob, carol] = room()
  const from = viewers.map(v => v.proc.lines.length)
  const targetsS = Array.from({ length: 12 }, (_, i) => 20 + i * 4)
  for (const s of targetsS) {
    await alice.userSeek(s)
    await new Promise(resolve => setTimeout(resolve, SCRUB_STEP_MS))
  }
  const endS = targetsS[targetsS.length - 1] as number
  const endLine = new RegExp(`"alice jumped to ${formatTimecode(endS * 1000)}"`)
  await bob.proc.waitForLine(endLine, { timeoutMs: FOLLOW_DEADLINE_MS, after: from[1] })
  await carol.proc.waitForLine(endLine, { timeoutMs: FOLLOW_DEADLINE_MS, after: from[2] })
  await alice.proc.waitForLine(new RegExp(`"you jumped to ${formatTimecode(endS * 1000)}"`), { timeoutMs: FOLLOW_DEADLINE_MS, after: from[0] })
  // The line is only printed once the burst is over: any other narration of it would be here by now.
  viewers.forEach((v, i) => {
    const jumps = v.proc.lines.slice(from[i]).filter(l => / jumped to /.test(l))
    assert.equal(jumps.length, 1, `${v.name} narrated the scrubbing as:\n${jumps.join('\n')}`)
  })
})

test('a lost peer is told as such; the transport details stay in --verbose', async () => {
  const [alice, bob, carol] = room()
  const from = [alice, bob].map(v => v.proc.lines.length)
  carol.proc.kill('SIGKILL')
  for (const [i, v] of [alice, bob].entries()) {
    await v.proc.waitForLine(/"lost contact with carol"/, { timeoutMs: 15_000, after: from[i] })
    const transport = v.proc.lines.slice(from[i]).filter(l => /connection closed|Stream timed out|ETIMEDOUT/i.test(l))
    if (process.env.WATCHMESH_TEST_LOGS !== '1') assert.deepEqual(transport, [], `${v.name} printed transport details`)
  }
})

test('SIGTERM while the DHT is out of reach: the daemon leaves at once and cleanly, nothing stray', async () => {
  const bus = await startBus()
  try {
    // Port 9 (discard) on loopback: nothing answers there.
    const daemon = spawnWatchmesh(['join', PASSPHRASE, '--name', 'dave', '--bootstrap', '127.0.0.1:9'], {
      DBUS_SESSION_BUS_ADDRESS: bus.address, XDG_CONFIG_HOME: `${bus.dir}/config`, XDG_RUNTIME_DIR: `${bus.dir}/run`
    })
    // The room and the player are looked for at once: both are said before the SIGTERM.
    await daemon.waitForLine(/looking for the room on the DHT/)
    await daemon.waitForLine(/waiting for a player/)
    daemon.kill('SIGTERM')
    const code = await waitFor('dave to exit', async () => daemon.proc.exitCode ?? undefined, { timeoutMs: FOLLOW_DEADLINE_MS })
    const out = daemon.lines.join('\n')
    assert.equal(code, 0, out)
    assert.match(out, /leaving the room \(SIGTERM\)/)
    const said = Math.max(...[/looking for the room/, /waiting for a player/].map(re => daemon.lines.findIndex(l => re.test(l))))
    const after = daemon.lines.slice(said + 1)
    assert.deepEqual(after.filter(l => !/leaving the room/.test(l)), [], 'nothing else is printed after SIGTERM')
  } finally {
    await bus.close()
  }
})
