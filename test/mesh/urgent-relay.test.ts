/**
 * An urgent broadcast (a control event) takes a second path at once: a node that got it straight
 * from its author relays it to its other peers even when they are linked to the author too, so a
 * packet lost on the author's link costs one hop, not a retransmission timeout. Everything else
 * is relayed only around missing links, as before. The third member is a hand-driven peer linked
 * to both honest nodes, so the test sees every frame each of them sends it.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_RELAY_HOPS } from '../../src/mesh/peer-session.js'
import { encodeNeighbours, decodeBroadcast } from '../../src/mesh/wire.js'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { closeAll, createNode, keysFor, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'
import { RawPeer } from './raw-peer.js'
import type { RawLink } from './raw-peer.js'

const keys = keysFor('movie night')
const URGENT_PREFIX = 'urgent:'
const urgent = (payload: Uint8Array): boolean => Buffer.from(payload).toString().startsWith(URGENT_PREFIX)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** The broadcasts one link carried to the raw peer: text, author, hops. */
function broadcastsOn (link: RawLink): Array<{ text: string, author: string, hops: number }> {
  return link.received.filter(f => f.name === 'broadcast').map(f => {
    const b = decodeBroadcast(f.bytes, 4096, MAX_RELAY_HOPS)
    return { text: Buffer.from(b.payload).toString(), author: Buffer.from(b.author).toString('hex'), hops: b.hops }
  })
}

describe('urgent broadcasts take a second path', () => {
  let testnet: LocalTestnet
  let nodes: TestNode[] = []
  let raw: RawPeer
  let toA: RawLink
  let toB: RawLink

  before(async () => {
    testnet = await startTestnet(3)
    nodes = ['a', 'b'].map(name => createNode(testnet, { name, urgent }))
    await Promise.all(nodes.map(n => n.mesh.start()))
    await waitFullMesh(nodes)
    const [a, b] = nodes as [TestNode, TestNode]
    raw = new RawPeer(testnet)
    toA = await raw.connect(a.mesh.id)
    await toA.admit(keys.authKey, 'c')
    toB = await raw.connect(b.mesh.id)
    await toB.admit(keys.authKey, 'c')
    // c says it is linked to both: b must then skip c for a's ordinary broadcasts.
    const both = encodeNeighbours({ peers: [Buffer.from(a.mesh.id, 'hex'), Buffer.from(b.mesh.id, 'hex')] })
    toA.send('neighbours', both)
    toB.send('neighbours', both)
    await waitFor('b to know c is linked to a', () => b.rec.neighboursOf(raw.id) === 2)
  })

  after(async () => {
    await raw?.close()
    await closeAll(nodes)
    await testnet.close()
  })

  it('b relays a\'s urgent broadcast to c, linked to a too, and not a\'s ordinary one', async () => {
    const [a, b] = nodes as [TestNode, TestNode]
    a.mesh.broadcast(text('ordinary'))
    a.mesh.broadcast(text(`${URGENT_PREFIX}pause`))
    // b relays as it delivers, so once it has delivered both, any relay of the ordinary one is
    // written to c; a link delivers in order, so once the relay of a later marker is in at c, any
    // relay of the ordinary one would be in too. (The urgent one's datagram copy may reach b first.)
    await waitFor('b to deliver both', () => b.rec.texts().length >= 2, { timeoutMs: 10_000 })
    a.mesh.broadcast(text(`${URGENT_PREFIX}marker`))
    await waitFor('b\'s relay of the marker at c', () => broadcastsOn(toB).some(f => f.text === `${URGENT_PREFIX}marker`), { timeoutMs: 10_000 })
    const viaB = broadcastsOn(toB)
    assert.deepEqual(viaB, [{ text: `${URGENT_PREFIX}pause`, author: a.mesh.id, hops: 1 }, { text: `${URGENT_PREFIX}marker`, author: a.mesh.id, hops: 1 }], `frames b sent c: ${JSON.stringify(viaB)}`)
    await waitFor('a\'s broadcasts straight from a', () => broadcastsOn(toA).length >= 3)
    assert.deepEqual(broadcastsOn(toA).map(f => [f.text, f.hops]), [['ordinary', 0], [`${URGENT_PREFIX}pause`, 0], [`${URGENT_PREFIX}marker`, 0]])
    // b delivered each once (in either order: the urgent one's datagram copy may overtake the stream),
    // and relayed nothing back to a (a is the author).
    await waitFor('b to deliver the marker', () => b.rec.texts().length >= 3, { timeoutMs: 10_000 })
    assert.deepEqual([...b.rec.texts()].sort(), ['ordinary', `${URGENT_PREFIX}marker`, `${URGENT_PREFIX}pause`])
  })

  it('a relays b\'s urgent broadcast to c once, as a relayed copy', async () => {
    const [a, b] = nodes as [TestNode, TestNode]
    const before = broadcastsOn(toA).length
    b.mesh.broadcast(text(`${URGENT_PREFIX}seek`))
    await waitFor('b\'s urgent broadcast at a, and a\'s relay of it at c', () => a.rec.texts().includes(`${URGENT_PREFIX}seek`) && broadcastsOn(toA).slice(before).some(f => f.text === `${URGENT_PREFIX}seek`))
    await waitFor('b\'s own copy at c', () => broadcastsOn(toB).some(f => f.text === `${URGENT_PREFIX}seek`))
    assert.deepEqual(broadcastsOn(toA).slice(before), [{ text: `${URGENT_PREFIX}seek`, author: b.mesh.id, hops: 1 }])
    assert.deepEqual(broadcastsOn(toB).filter(f => f.text === `${URGENT_PREFIX}seek`), [{ text: `${URGENT_PREFIX}seek`, author: b.mesh.id, hops: 0 }])
  })
})
