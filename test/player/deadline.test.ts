/**
 * A call's deadline never beats a reply that was already received: when the process did not run
 * for a while (frozen, starved of CPU), Node runs due timers before it reads its sockets, and a
 * player that answered in time was taken for one that did not (a daemon woken from a 4 s freeze
 * failed its first read of the player and stopped following it).
 *
 * A call that missed its deadline may still be carried out: the caller is told when its answer
 * comes late, so the effect is not taken for the user's.
 *
 * The freeze is made in-process: the reply is written into the socket (by the test's own end of it)
 * and the process then busy-waits past the deadline before it returns to the event loop, exactly
 * what a SIGSTOP between the reply's arrival and its reading does.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDeadline } from '../../src/player/deadline.js'
import { MpvSocket } from '../../src/player/mpv-socket.js'
import { callForReply } from '../../src/player/dbus.js'
import type { MessageBus } from '../../src/player/dbus.js'
import { isWatchmeshError } from '../../src/errors.js'
import { startMpvStandIn } from '../fixtures/mpv-stand-in.js'
import { waitFor } from '../fixtures/wait.js'

const DEADLINE_MS = 50

/** Does not return to the event loop until `untilMs` (performance.now()): the process is "frozen". */
function freezeUntil (untilMs: number): void {
  while (performance.now() < untilMs) { /* frozen */ }
}

interface Pair { server: Server, near: Socket, far: Socket, dir: string, close: () => Promise<void> }

/** Two connected ends of a Unix socket in this process: `near` is the caller's, `far` the player's. */
async function socketPair (): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'wm-deadline-'))
  const path = join(dir, 'sock')
  let far: Socket | null = null
  const server = createServer(conn => { far = conn })
  await new Promise<void>(resolve => server.listen(path, resolve))
  const { connect } = await import('node:net')
  const near = connect(path)
  await new Promise<void>(resolve => near.once('connect', () => resolve()))
  while (far === null) await new Promise(resolve => setImmediate(resolve))
  const farEnd = far as Socket
  return {
    server, near, far: farEnd, dir,
    close: async () => {
      near.destroy()
      farEnd.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    }
  }
}

test('deadline: a reply already in the socket when the deadline falls due wins; with none, the deadline expires', async () => {
  const pair = await socketPair()
  try {
    const outcome = await new Promise<string>(resolve => {
      const deadline = startDeadline(DEADLINE_MS, () => resolve('expired'))
      pair.near.once('data', () => { deadline.clear(); resolve('reply') })
      const sentMs = performance.now()
      pair.far.write('reply\n')
      freezeUntil(sentMs + 3 * DEADLINE_MS)
    })
    assert.equal(outcome, 'reply')
    const none = await new Promise<string>(resolve => {
      startDeadline(DEADLINE_MS, () => resolve('expired'))
    })
    assert.equal(none, 'expired')
  } finally {
    await pair.close()
  }
})

test('mpv IPC: an answer that came while the process was frozen past the call deadline is taken; a command never answered still fails', async () => {
  const asked: string[] = []
  // Answers `get_property` at once and then freezes this process past the deadline (the answer
  // sits unread in the caller's socket); never answers `hang`.
  let answeredMs = 0
  const mpv = await startMpvStandIn(cmd => {
    asked.push(String(cmd.command[0]))
    answeredMs = performance.now()
    return cmd.command[0] === 'get_property' ? 42 : undefined
  }, () => freezeUntil(answeredMs + 3 * DEADLINE_MS))
  const socket = await MpvSocket.connect(mpv.path)
  try {
    const reply = await socket.command(['get_property', 'time-pos'], DEADLINE_MS)
    assert.equal(reply.data, 42)
    await assert.rejects(socket.command(['hang'], DEADLINE_MS), (err: unknown) => isWatchmeshError(err, 'PLAYER_NOT_ANSWERING') && /did not answer hang within 50 ms/.test(err.message))
    assert.deepEqual(asked, ['get_property', 'hang'])
  } finally {
    socket.close()
    await mpv.close()
  }
})

/**
 * Just enough of a D-Bus connection for callForReply: a call is answered by whatever line next
 * arrives on `near` (the reply is read from a real socket, as the library reads the bus).
 */
class SocketBus extends EventEmitter {
  constructor (private readonly near: Socket) { super() }
  async call (): Promise<{ body: unknown[] }> {
    return await new Promise(resolve => this.near.once('data', chunk => resolve({ body: [String(chunk).trim()] })))
  }
}

test('D-Bus: a reply that came while the process was frozen past the call deadline is taken', async () => {
  const pair = await socketPair()
  try {
    const bus = new SocketBus(pair.near) as unknown as MessageBus
    const call = { destination: ':1.1', path: '/org/mpris/MediaPlayer2', iface: 'org.freedesktop.DBus.Properties', member: 'GetAll' }
    const pending = callForReply(bus, call, DEADLINE_MS)
    const answeredMs = performance.now()
    pair.far.write('the properties\n')
    freezeUntil(answeredMs + 3 * DEADLINE_MS)
    assert.deepEqual((await pending).body, ['the properties'])
    await assert.rejects(callForReply(bus, call, DEADLINE_MS), /GetAll on :1.1: no reply within 50 ms/)
  } finally {
    await pair.close()
  }
})

test('mpv IPC: a command answered after its deadline is told as carried out late; one still unanswered when the socket closes, as never', async () => {
  const heldBack: number[] = []
  // Answers nothing at once: the test answers the first command late, by hand.
  const mpv = await startMpvStandIn(cmd => { heldBack.push(cmd.request_id); return undefined })
  const socket = await MpvSocket.connect(mpv.path)
  try {
    const told: boolean[] = []
    await assert.rejects(socket.command(['set_property', 'pause', true], DEADLINE_MS, answered => told.push(answered)),
      (err: unknown) => isWatchmeshError(err, 'PLAYER_NOT_ANSWERING'))
    assert.deepEqual(told, [], 'nothing known yet')
    const unanswered: boolean[] = []
    await assert.rejects(socket.command(['hang'], DEADLINE_MS, answered => unanswered.push(answered)))
    mpv.reply(heldBack[0] as number, null)
    await waitFor('the late answer told', () => told.length > 0, { seen: () => ({ told, heldBack }) })
    assert.deepEqual(told, [true])
    socket.close()
    assert.deepEqual(unanswered, [false], 'closed before an answer: never carried out')
  } finally {
    socket.close()
    await mpv.close()
  }
})

test('D-Bus: a call answered after its deadline is told as carried out late', async () => {
  const pair = await socketPair()
  try {
    const bus = new SocketBus(pair.near) as unknown as MessageBus
    const call = { destination: ':1.1', path: '/org/mpris/MediaPlayer2', iface: 'org.mpris.MediaPlayer2.Player', member: 'Pause' }
    const told: boolean[] = []
    await assert.rejects(callForReply(bus, call, DEADLINE_MS, answered => told.push(answered)), /Pause on :1.1: no reply within 50 ms/)
    assert.deepEqual(told, [])
    pair.far.write('done\n')
    await waitFor('the late answer told', () => told.length > 0, { seen: () => told })
    assert.deepEqual(told, [true])
  } finally {
    await pair.close()
  }
})
