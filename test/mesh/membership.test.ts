/**
 * Who is in the room: an 8-node full mesh, a partial mesh held together by relays, a full room,
 * a rejoin under the same keypair, and duplicate connections from one peer.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { barrier, closeAll, createNode, keysFor, waitFor, waitFullMesh, waitNeighboursKnown } from './helpers.js'
import type { TestNode } from './helpers.js'
import { RawPeer } from './raw-peer.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('membership', () => {
  let testnet: LocalTestnet
  const nodes: TestNode[] = []
  const raws: RawPeer[] = []

  before(async () => {
    testnet = await startTestnet(3)
  })

  after(async () => {
    await Promise.allSettled(raws.map(r => r.close()))
    await closeAll(nodes)
    await testnet.close()
  })

  function node (opts: Parameters<typeof createNode>[1] = {}): TestNode {
    const n = createNode(testnet, opts)
    nodes.push(n)
    return n
  }

  it('8 nodes form a full mesh; every node sees the same members, each up once, none down', async () => {
    const eight = Array.from({ length: 8 }, (_, i) => node({ name: `n${i}`, passphrase: 'eight' }))
    await Promise.all(eight.map(n => n.mesh.start()))
    await waitFullMesh(eight)
    // Settled: everyone has heard a 7-peer neighbour list from every other (lists go out 250 ms
    // after the last change), and a marker has crossed every link. A duplicate connection from
    // simultaneous dials that flapped a peer would show in ups and downs.
    await waitNeighboursKnown(eight)
    await barrier(eight, 'settled')

    const all = eight.map(n => n.mesh.id).sort()
    for (const n of eight) {
      const members = [n.mesh.id, ...n.mesh.peers().map(p => p.id)].sort()
      assert.deepEqual(members, all, 'same members everywhere')
      assert.equal(n.rec.ups.length, 7, 'each peer came up exactly once')
      assert.deepEqual(n.rec.downs, [], 'no peer flapped down')
      assert.ok(n.mesh.peers().every(p => p.direct))
    }
    await closeAll(eight)
  })

  it('with one link firewalled, broadcasts still reach both ends through relays, once', async () => {
    let aId = ''
    let bId = ''
    const a = node({ name: 'a', passphrase: 'partial', firewall: peer => peer === bId })
    const b = node({ name: 'b', passphrase: 'partial', firewall: peer => peer === aId })
    aId = a.mesh.id
    bId = b.mesh.id
    const relays = [node({ name: 'c', passphrase: 'partial' }), node({ name: 'd', passphrase: 'partial' })]
    const all = [a, b, ...relays]
    await Promise.all(all.map(n => n.mesh.start()))
    await waitFor('everyone but the cut link connected', () =>
      relays.every(r => r.mesh.peers().filter(p => p.direct).length === 3) &&
      a.mesh.peers().filter(p => p.direct).length === 2 && b.mesh.peers().filter(p => p.direct).length === 2, { timeoutMs: 20_000 })
    // Neighbour lists go out 250 ms after the last change; once they are in, relays know whom to serve.
    await waitNeighboursKnown(all)

    a.mesh.broadcast(text('from a'))
    b.mesh.broadcast(text('from b'))
    await waitFor('b to hear a and a to hear b, and the relays both', () => b.rec.texts().includes('from a') && a.rec.texts().includes('from b') &&
      relays.every(r => r.rec.texts().includes('from a') && r.rec.texts().includes('from b')))
    await barrier(all, 'a and b') // any second copy a relay sent has arrived by now
    assert.deepEqual(b.rec.texts(), ['from a'], 'exactly once, though two relays could deliver it')
    assert.deepEqual(a.rec.texts(), ['from b'])
    const viaRelay = b.rec.messages[0]
    assert.equal(viaRelay?.author, a.mesh.id)
    assert.ok(viaRelay !== undefined && viaRelay.from !== a.mesh.id, 'delivered by a relay')
    for (const r of relays) assert.deepEqual(r.rec.texts().sort(), ['from a', 'from b'])
    assert.deepEqual(a.mesh.peers().find(p => p.id === b.mesh.id)?.direct, false, 'b is listed as heard through relays')

    // In the full part of the mesh nobody relays: c's broadcast reaches d only once, directly.
    const c = relays[0] as TestNode
    c.mesh.broadcast(text('from c'))
    await waitFor('everyone to hear c', () => [a, b, relays[1] as TestNode].every(n => n.rec.texts().includes('from c')))
    await barrier(all, 'c')
    for (const n of [a, b, relays[1] as TestNode]) {
      const got = n.rec.messages.filter(m => Buffer.from(m.payload).toString() === 'from c')
      assert.equal(got.length, 1)
      assert.equal(got[0]?.from, c.mesh.id, 'straight from the author')
    }
    await closeAll(all)
  })

  it('a full room turns a newcomer away with a clear message', async () => {
    const host = node({ name: 'host', passphrase: 'full', limits: { maxPeers: 1 } })
    const first = node({ name: 'first', passphrase: 'full' })
    await Promise.all([host.mesh.start(), first.mesh.start()])
    await waitFullMesh([host, first])
    const late = node({ name: 'late', passphrase: 'full' })
    await late.mesh.start()
    await waitFor('the newcomer to be told the room is full', () => late.rec.logs.some(l => l.peer === host.mesh.id && /room is full \(1 peers\)/.test(l.msg)))
    await waitFor('the newcomer to reach the other member', () => late.mesh.peers().some(p => p.id === first.mesh.id))
    assert.deepEqual(host.mesh.peers().map(p => p.id), [first.mesh.id])
    assert.ok(host.rec.logs.some(l => /room is full/.test(l.msg)), 'the host logged it too')
    assert.ok(!host.rec.ups.some(p => p.id === late.mesh.id))
    await closeAll([host, first, late])
  })

  it('a node that leaves and rejoins with the same keypair is seen leaving, then back', async () => {
    const seed = randomBytes(32)
    const stay = node({ name: 'stay', passphrase: 'rejoin' })
    const goer = node({ name: 'goer', passphrase: 'rejoin', seed })
    await Promise.all([stay.mesh.start(), goer.mesh.start()])
    await waitFullMesh([stay, goer])
    await goer.mesh.close()
    await waitFor('the leave', () => stay.rec.downs.length === 1)
    const back = node({ name: 'back', passphrase: 'rejoin', seed })
    assert.equal(back.mesh.id, goer.mesh.id, 'same seed, same id')
    await back.mesh.start()
    await waitFor('the rejoin', () => stay.rec.ups.length === 2, { timeoutMs: 20_000 })
    assert.deepEqual(stay.rec.downs, [{ peer: goer.mesh.id, reason: 'left' }])
    assert.deepEqual(stay.rec.ups.map(p => [p.id, p.name]), [[goer.mesh.id, 'goer'], [goer.mesh.id, 'back']])
    await closeAll([stay, back])
  })

  it('a second connection from the same peer replaces the first: silently for the same session, as a restart for a new one', async () => {
    const keys = keysFor('dups')
    const member = node({ name: 'member', passphrase: 'dups' })
    await member.mesh.start()
    const peer = new RawPeer(testnet)
    raws.push(peer)
    const session = randomBytes(8)

    const first = await peer.connect(member.mesh.id)
    await first.admit(keys.authKey, 'dup', session)
    await waitFor('peer-up', () => member.rec.ups.length === 1)
    const second = await peer.connect(member.mesh.id)
    await second.admit(keys.authKey, 'dup', session)
    await first.waitClosed('the first connection to be replaced')
    assert.equal(member.mesh.peers().length, 1)
    assert.equal(member.rec.ups.length, 1, 'no second peer-up for the same session')
    assert.deepEqual(member.rec.downs, [], 'no peer-down either')

    const third = await peer.connect(member.mesh.id)
    await third.admit(keys.authKey, 'dup restarted', randomBytes(8))
    await second.waitClosed('the second connection to be replaced')
    await waitFor('the restart to be reported', () => member.rec.ups.length === 2)
    assert.deepEqual(member.rec.downs, [{ peer: peer.id, reason: 'lost' }])
    assert.deepEqual(member.mesh.peers().map(p => [p.id, p.name]), [[peer.id, 'dup restarted']])
    third.conn.destroy()
    await waitFor('peer-down after the last connection closed', () => member.rec.downs.length === 2)
    assert.deepEqual(member.mesh.peers(), [])
  })
})
