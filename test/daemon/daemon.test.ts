import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { Writable } from 'node:stream'
import { Daemon } from '../../src/daemon/daemon.js'
import { Logger } from '../../src/daemon/log.js'
import { SimulatedPlayer, StaticWatcher } from '../../src/demo/simulated-player.js'
import { decodeSyncMessage, encodeSyncMessage } from '../../src/sync/codec.js'
import type { Mesh, MeshEvents, PeerId, PeerInfo } from '../../src/mesh/types.js'
import type { SyncMessage } from '../../src/sync/types.js'
import { processNow } from '../../src/clock.js'
import { waitFor } from '../fixtures/wait.js'
import { WatchmeshError } from '../../src/errors.js'

const SELF = 'a'.repeat(64)
const PEER = 'b'.repeat(64)
const media = { id: 'film.mkv', name: 'film.mkv', title: null, url: null, lengthMs: 7_200_000, trackId: null }

/** A mesh that records what the daemon sends and lets the test play the other side. */
class FakeMesh extends EventEmitter<MeshEvents> implements Mesh {
  readonly id = SELF
  readonly sent: Array<{ to: PeerId | '*', msg: SyncMessage }> = []
  readonly invalid: Array<{ from: PeerId, author: PeerId, why: string }> = []
  private readonly up: PeerInfo[] = []
  async start (): Promise<void> {}
  async close (): Promise<void> {}
  peers (): PeerInfo[] { return this.up }
  send (to: PeerId, payload: Uint8Array): boolean { this.sent.push({ to, msg: decodeSyncMessage(payload) }); return true }
  broadcast (payload: Uint8Array): void { this.sent.push({ to: '*', msg: decodeSyncMessage(payload) }) }
  reportInvalid (from: PeerId, author: PeerId, why: string): void { this.invalid.push({ from, author, why }) }
  peerUp (id: PeerId): void {
    const info = { id, name: 'bob', rttMs: 10, direct: true }
    this.up.push(info)
    this.emit('peer-up', info)
  }
}

/** Log lines, kept for the test to read. */
function quietLogger (): { logger: Logger, lines: string[] } {
  const lines: string[] = []
  const out = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  return { logger: new Logger({ out, verbosity: 'verbose' }), lines }
}

test('daemon: follows the simulated player, asks a newcomer for the state, and drives its player to a remote event', async () => {
  const mesh = new FakeMesh()
  const player = new SimulatedPlayer({ name: 'a', media })
  const { logger, lines } = quietLogger()
  const daemon = new Daemon({ name: 'alice', mesh, watcher: new StaticWatcher(player), logger })
  try {
    await daemon.start()
    await waitFor('attaching the player', () => daemon.status().player !== null, { seen: () => lines })
    mesh.peerUp(PEER)
    await waitFor('a state request to the newcomer', () => mesh.sent.some(s => s.to === PEER && s.msg.type === 'state-request'), { seen: () => mesh.sent })
    // Bob plays from 60 s, anchored now on his clock; with no clock sample yet, offset 0 is not
    // known: the daemon asks for it, and once a sample arrives it starts the player.
    const nowMs = processNow()
    mesh.emit('clock-sample', { peer: PEER, t1: nowMs - 10, t2: nowMs - 5, t3: nowMs - 5, t4: nowMs })
    const event: SyncMessage = { type: 'event', state: { media: { id: media.id, name: media.name, lengthMs: media.lengthMs }, playing: true, positionMs: 60_000, atMs: nowMs, rate: 1, stamp: { lamport: 5, nodeId: PEER } } }
    mesh.emit('message', { from: PEER, author: PEER, payload: encodeSyncMessage(event), broadcast: true })
    await waitFor('the player playing on bob\'s timeline', () => player.isPlaying() && Math.abs(player.positionMs() - (60_000 + processNow() - nowMs)) < 40,
      { seen: () => ({ playing: player.isPlaying(), positionMs: player.positionMs(), expectedMs: 60_000 + processNow() - nowMs }) })
    assert.equal(daemon.status().leaderName, 'bob')
  } finally {
    await daemon.close()
  }
})

test('daemon: a message it cannot decode is logged (--verbose) and blamed on its author, never a crash; the next good one is still handled', async () => {
  const mesh = new FakeMesh()
  const player = new SimulatedPlayer({ name: 'a', media })
  const { logger, lines } = quietLogger()
  const daemon = new Daemon({ name: 'alice', mesh, watcher: new StaticWatcher(player), logger })
  try {
    await daemon.start()
    mesh.peerUp(PEER)
    mesh.emit('message', { from: PEER, author: PEER, payload: new Uint8Array([0xff, 1, 2, 3]), broadcast: false })
    await waitFor('a line about the bad message', () => lines.some(l => l.includes('ignored a message from bob')), { seen: () => lines })
    assert.deepEqual(mesh.invalid.map(r => [r.from, r.author]), [[PEER, PEER]], 'the bad message is reported to the mesh against its author')
    const before = mesh.sent.length
    mesh.emit('message', { from: PEER, author: PEER, payload: encodeSyncMessage({ type: 'state-request' }), broadcast: false })
    // We have no state yet, so nothing to answer with; the user acting gives one, broadcast as an event.
    await player.userAction('play')
    await waitFor('our play broadcast as an event', () => mesh.sent.slice(before).some(s => s.to === '*' && s.msg.type === 'event'), { seen: () => mesh.sent })
  } finally {
    await daemon.close()
  }
})

test('daemon: tells each peer whether its OS keeps the wall clock synced, with its clock against that wall clock, and shows what peers say', async () => {
  const mesh = new FakeMesh()
  const player = new SimulatedPlayer({ name: 'a', media })
  const { logger } = quietLogger()
  // The wall clock 1234.5 ms behind our clock.
  const daemon = new Daemon({ name: 'alice', mesh, watcher: new StaticWatcher(player), logger, wallNow: () => processNow() - 1234.5 })
  try {
    await daemon.start()
    mesh.peerUp(PEER)
    daemon.learnClockSynced(true)
    const told = mesh.sent.find(s => s.to === PEER && s.msg.type === 'clock-synced')
    assert.ok(told?.msg.type === 'clock-synced' && told.msg.synced, 'told bob our clock is synced')
    assert.ok(Math.abs((told.msg.clockMinusWallMs ?? 0) - 1234.5) < 1, `with our clock minus the wall clock: ${String(told.msg.clockMinusWallMs)}`)
    assert.equal(daemon.status().clockSynced, true)
    assert.equal(daemon.status().peers[0]?.clockSynced, null, 'bob said nothing yet')
    mesh.emit('message', { from: PEER, author: PEER, payload: encodeSyncMessage({ type: 'clock-synced', synced: true, clockMinusWallMs: 7 }), broadcast: false })
    await waitFor('bob\'s word in the status', () => daemon.status().peers[0]?.clockSynced === true, { seen: () => daemon.status().peers })
  } finally {
    await daemon.close()
  }
})

/** A watcher that reaches its player only when the test says so (a player found after the mesh formed). */
class LateWatcher extends StaticWatcher {
  override async start (): Promise<void> {}
  attachNow (): void { this.emit('attach', this.current) }
}

test('daemon: who joined before the player was reached is shown on the video once it is', async () => {
  const mesh = new FakeMesh()
  const shown: string[] = []
  const player = Object.assign(new SimulatedPlayer({ name: 'a', media }), { showText: async (text: string) => { shown.push(text) } })
  const watcher = new LateWatcher(player)
  const { logger, lines } = quietLogger()
  const daemon = new Daemon({ name: 'alice', mesh, watcher, logger, osd: true })
  try {
    await daemon.start()
    mesh.peerUp(PEER)
    await waitFor('bob joined, in the terminal', () => lines.some(l => /bob joined/.test(l)), { seen: () => lines })
    assert.deepEqual(shown, [], 'nothing can be shown without a player')
    watcher.attachNow()
    await waitFor('the join shown once the player is there', () => shown.length > 0, { seen: () => ({ shown, lines }) })
    assert.deepEqual(shown, ['bob joined'])
  } finally {
    await daemon.close()
  }
})

test('daemon: keeps what it learnt of its player\'s kind when it stops, and the next one starts from it', async () => {
  const { mkdtemp, readFile, rm, writeFile } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { PlayerMemory, PLAYER_MEMORY_FILE } = await import('../../src/daemon/player-memory.js')
  const { playerKind } = await import('../../src/player/kind.js')
  const { START_LATENCY_MS } = await import('../../src/sync/config.js')
  const dir = await mkdtemp(join(tmpdir(), 'wm-daemon-memory-'))
  const other = { startLatencyMs: 100, rateJumpMs: 3.9, readingLagMs: 19, freshReadingLagMs: 4, roughShortMs: 6, seekLeadMs: 30, savedAt: '' }
  const run = async (): Promise<string[]> => {
    const { logger, lines } = quietLogger()
    const player = new SimulatedPlayer({ name: 'a', media })
    const daemon = new Daemon({ name: 'alice', mesh: new FakeMesh(), watcher: new StaticWatcher(player), logger, memory: await PlayerMemory.load(dir, msg => lines.push(msg)) })
    await daemon.start()
    await waitFor('attaching the player', () => daemon.status().player !== null, { seen: () => lines })
    await daemon.close()
    return lines
  }
  try {
    await writeFile(join(dir, PLAYER_MEMORY_FILE), JSON.stringify({ version: 1, players: { other } }))
    const first = await run()
    const kind = playerKind(new SimulatedPlayer({ name: 'a', media }).busName, 'watchmesh simulated player')
    assert.ok(!first.some(l => l.includes('starting from what was learnt')), first.join(''))
    const saved = JSON.parse(await readFile(join(dir, PLAYER_MEMORY_FILE), 'utf8')) as { version: number, players: Record<string, { startLatencyMs: number }> }
    assert.equal(saved.players[kind]?.startLatencyMs, START_LATENCY_MS, 'what this daemon had (its first guess: nothing moved it yet)')
    assert.equal(saved.players.other?.startLatencyMs, 100, 'other kinds are kept')
    const second = await run()
    assert.ok(second.some(l => l.includes(`starting from what was learnt of ${kind} before: start latency ${START_LATENCY_MS.toFixed(1)} ms`)), second.join(''))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

/**
 * A player whose first reads fail the way an MPRIS read fails when no reply comes within the call
 * deadline (the player or the daemon frozen for a few seconds right after attaching).
 */
class UnansweringPlayer extends SimulatedPlayer {
  failuresLeft: number
  reads = 0
  constructor (failures: number) {
    super({ name: 'a', media })
    this.failuresLeft = failures
  }

  override async state (): ReturnType<SimulatedPlayer['state']> {
    this.reads++
    if (this.failuresLeft > 0) {
      this.failuresLeft--
      throw new WatchmeshError('PLAYER_NOT_ANSWERING', `reading on ${this.busName} failed: GetAll on :1.1: no reply within 2000 ms`)
    }
    return await super.state()
  }
}

test('daemon: a player whose first reads get no answer is read again, said so, and then follows the room', async () => {
  const mesh = new FakeMesh()
  const player = new UnansweringPlayer(2)
  const { logger, lines } = quietLogger()
  const daemon = new Daemon({ name: 'bob', mesh, watcher: new StaticWatcher(player), logger })
  try {
    await daemon.start()
    mesh.peerUp(PEER)
    await waitFor('the player followed once it answers', () => daemon.status().player !== null, { seen: () => ({ reads: player.reads, lines }) })
    assert.equal(lines.filter(l => /warning: player watchmesh simulated player is not answering \(reading on .* no reply within 2000 ms\); trying again every 1 s/.test(l)).length, 1, lines.join(''))
    assert.ok(lines.some(l => /player watchmesh simulated player answers again \(after \d+\.\d s\)/.test(l)), lines.join(''))
    // The room plays: the player that did not answer at first is driven like any other.
    const nowMs = processNow()
    mesh.emit('clock-sample', { peer: PEER, t1: nowMs - 10, t2: nowMs - 5, t3: nowMs - 5, t4: nowMs })
    const event: SyncMessage = { type: 'event', state: { media: { id: media.id, name: media.name, lengthMs: media.lengthMs }, playing: true, positionMs: 60_000, atMs: nowMs, rate: 1, stamp: { lamport: 5, nodeId: PEER } } }
    mesh.emit('message', { from: PEER, author: PEER, payload: encodeSyncMessage(event), broadcast: true })
    await waitFor('the player playing on the room\'s timeline', () => player.isPlaying() && Math.abs(player.positionMs() - (60_000 + processNow() - nowMs)) < 40,
      { seen: () => ({ playing: player.isPlaying(), positionMs: player.positionMs(), expectedMs: 60_000 + processNow() - nowMs, lines }) })
  } finally {
    await daemon.close()
  }
})
