/**
 * Keys and sessions: a node's key differs from room to room (not linkable, and a stranger who
 * found it in one room cannot dial it in another), yet stays the same across restarts in one room;
 * a member's signed broadcasts are taken only from its current session, so one recorded before a
 * restart cannot be replayed after it.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { decodeBroadcast } from '../../src/mesh/wire.js'
import { SwarmMesh } from '../../src/mesh/swarm-mesh.js'
import { keysFor, meshBed, waitFor, waitFullMesh } from './helpers.js'
import { RawPeer } from './raw-peer.js'

const keys = keysFor('movie night')
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('node keys', () => {
  it('one seed: a different key in each room, the same key in the same room', () => {
    const seed = randomBytes(32)
    const other = keysFor('another room')
    const make = (k: typeof keys): string => new SwarmMesh({ keys: k, name: 'x', seed }).id
    assert.equal(make(keys), make(keys), 'a restarted daemon is the same viewer in its room')
    assert.notEqual(make(keys), make(other), 'not linkable across rooms')
  })
})

describe('a replayed broadcast of an earlier session', () => {
  const bed = meshBed()

  it('is not delivered after its author restarted', async () => {
    const seed = randomBytes(32)
    const alice = bed.node({ name: 'alice', seed })
    const bob = bed.node({ name: 'bob' })
    await Promise.all([alice.mesh.start(), bob.mesh.start()])
    await waitFullMesh([alice, bob])

    // A member records alice's signed event as bob relays it.
    const recorder = new RawPeer(bed.testnet)
    bed.closeAfter(async () => await recorder.close())
    const spy = await recorder.connect(bob.mesh.id)
    await spy.admit(keys.authKey, 'recorder')
    alice.mesh.broadcast(text('alice paused'))
    const recorded = await waitFor('bob to relay alice\'s event', () => spy.received.find(f => f.name === 'broadcast'))
    assert.equal(decodeBroadcast(recorded.bytes, 1 << 20, 100).author.toString(), Buffer.from(alice.mesh.id, 'hex').toString())

    // Alice restarts (same key, new session); carol joins afterwards and has never seen the event.
    await alice.mesh.close()
    const alice2 = bed.node({ name: 'alice', seed })
    const carol = bed.node({ name: 'carol' })
    await Promise.all([alice2.mesh.start(), carol.mesh.start()])
    await waitFullMesh([alice2, bob, carol])
    assert.equal(alice2.mesh.id, alice.mesh.id)

    const replay = await recorder.connect(carol.mesh.id)
    await replay.admit(keys.authKey, 'recorder')
    replay.send('broadcast', recorded.bytes)
    await waitFor('carol to refuse the replay', () => carol.rec.logs.some(l => /session it no longer runs/.test(l.msg)))
    assert.ok(!carol.rec.texts().includes('alice paused'), 'the old event was not delivered')
    alice2.mesh.broadcast(text('alice resumed'))
    await waitFor('carol to hear alice\'s current session', () => carol.rec.texts().includes('alice resumed'))
  })
})
