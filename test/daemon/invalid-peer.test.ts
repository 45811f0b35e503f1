/**
 * A peer that keeps sending invalid sync payloads, against a real daemon on a real mesh (local
 * testnet): a few are tolerated (an honest peer of a newer minor version may send some), then it
 * is dropped with one log line, and nothing it sent changed the room.
 */
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { Daemon } from '../../src/daemon/daemon.js'
import { Logger } from '../../src/daemon/log.js'
import { SimulatedPlayer, StaticWatcher } from '../../src/demo/simulated-player.js'
import { SwarmMesh } from '../../src/mesh/swarm-mesh.js'
import { encodeDirect } from '../../src/mesh/wire.js'
import { encodeSyncMessage } from '../../src/sync/codec.js'
import type { SyncMessage } from '../../src/sync/types.js'
import { processNow } from '../../src/clock.js'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { waitFor } from '../fixtures/wait.js'
import { keysFor } from '../mesh/helpers.js'
import { RawPeer } from '../mesh/raw-peer.js'

const media = { id: 'film.mkv', name: 'film.mkv', title: null, url: null, lengthMs: 7_200_000, trackId: null }
const DROPPED = /dropping the connection: sent too many invalid messages/

let testnet: LocalTestnet
before(async () => { testnet = await startTestnet(3) })
after(async () => { await testnet.close() })

test('daemon: a peer sending invalid sync payloads is dropped after a small budget, with one line, and the room is unchanged', async () => {
  const keys = keysFor('movie night')
  const mesh = new SwarmMesh({ keys, name: 'alice', bootstrap: testnet.bootstrap, host: '127.0.0.1' })
  const player = new SimulatedPlayer({ name: 'a', media })
  const lines: string[] = []
  const out = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const daemon = new Daemon({ name: 'alice', mesh, watcher: new StaticWatcher(player), logger: new Logger({ out, verbosity: 'normal' }) })
  const raw = new RawPeer(testnet)
  try {
    await daemon.start()
    await waitFor('the player attached', () => daemon.status().player !== null)
    await player.userAction('play')
    await waitFor('the room playing', () => daemon.status().playback?.playing === true, { timeoutMs: 5000 })
    const leaderBefore = daemon.status().leader

    const link = await raw.connect(mesh.id)
    await link.admit(keys.authKey, 'mallory')
    await waitFor('mallory admitted', () => daemon.status().peers.some(p => p.key === raw.id))

    // Undecodable bytes, and well-formed events against the rules (a stamp that is not the
    // sender's, a Lamport jump): each would pause the room if it were taken.
    const forged = (lamport: number, nodeId: string): Uint8Array => encodeSyncMessage({
      type: 'event',
      state: { media: { id: media.id, name: media.name, lengthMs: media.lengthMs }, playing: false, positionMs: 1000, atMs: processNow(), rate: 1, stamp: { lamport, nodeId } }
    } satisfies SyncMessage)
    const invalid = [
      new Uint8Array([0xff, 1, 2, 3]),
      new Uint8Array([0xff]),
      forged(1_000_000_000, raw.id),
      forged(50, mesh.id),
      forged(51, 'c'.repeat(64)),
      new Uint8Array([0xfe, 0, 0]),
      forged(52, mesh.id)
    ]
    for (const payload of invalid) link.send('direct', encodeDirect(payload))
    await link.waitClosed('the daemon to drop mallory')

    const status = daemon.status()
    assert.equal(status.playback?.playing, true, 'still playing: no invalid event paused the room')
    assert.equal(status.leader, leaderBefore, 'the leader did not change')
    assert.ok(!status.peers.some(p => p.key === raw.id), 'mallory is gone')
    assert.equal(player.isPlaying(), true, 'the player was not told to pause')
    const dropLines = lines.filter(l => DROPPED.test(l))
    assert.equal(dropLines.length, 1, `one line says why it was dropped; saw: ${lines.join('')}`)
  } finally {
    await raw.close()
    await daemon.close()
  }
})
