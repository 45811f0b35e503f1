/**
 * Control events also travel as datagrams beside the stream: a packet of the stream lost on the only
 * link between two viewers holds back everything after it until its retransmission (~240 ms), a
 * datagram is not held back. A member's datagram is judged as the same frame on the stream would
 * be, and the copy that comes second is not delivered again. The member on the other end is a
 * hand-driven peer, so the test sees and chooses every datagram.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DATAGRAM_BROADCAST, MAX_RELAY_HOPS } from '../../src/mesh/peer-session.js'
import { decodeBroadcast, encodeBroadcast } from '../../src/mesh/wire.js'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { closeAll, createNode, keysFor, waitFor } from './helpers.js'
import type { TestNode } from './helpers.js'
import { signedBroadcast } from './forge.js'
import { RawPeer } from './raw-peer.js'
import type { RawLink } from './raw-peer.js'

const keys = keysFor('movie night')
const URGENT_PREFIX = 'urgent:'
const urgent = (payload: Uint8Array): boolean => Buffer.from(payload).toString().startsWith(URGENT_PREFIX)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
/** The session the raw peer says hello with (raw-peer.ts `admit`). */
const RAW_SESSION = new Uint8Array(8).fill(42)

function datagram (kind: number, bytes: Uint8Array): Uint8Array {
  const d = new Uint8Array(bytes.byteLength + 1)
  d[0] = kind
  d.set(bytes, 1)
  return d
}

/** The broadcasts that came to the raw peer as datagrams: text and hops. */
function datagramBroadcasts (link: RawLink): Array<{ text: string, hops: number }> {
  return link.datagrams.map(d => {
    assert.equal(d[0], DATAGRAM_BROADCAST, `a datagram of kind ${String(d[0])}`)
    const b = decodeBroadcast(d.subarray(1), 4096, MAX_RELAY_HOPS)
    return { text: Buffer.from(b.payload).toString(), hops: b.hops }
  })
}

describe('control events as datagrams beside the stream', () => {
  let testnet: LocalTestnet
  let nodes: TestNode[] = []
  let raw: RawPeer
  let link: RawLink

  before(async () => {
    testnet = await startTestnet(3)
    nodes = [createNode(testnet, { name: 'a', urgent })]
    await nodes[0]!.mesh.start()
    raw = new RawPeer(testnet)
    link = await raw.connect(nodes[0]!.mesh.id)
    await link.admit(keys.authKey, 'c', RAW_SESSION)
    await waitFor('a to take c as a peer', () => nodes[0]!.mesh.peers().length === 1)
  })

  after(async () => {
    await raw?.close()
    await closeAll(nodes)
    await testnet.close()
  })

  it('an urgent broadcast goes both ways, on the stream and as a datagram; an ordinary one only on the stream', async () => {
    const a = nodes[0]!
    a.mesh.broadcast(text('ordinary'))
    a.mesh.broadcast(text(`${URGENT_PREFIX}pause`))
    await waitFor('the urgent broadcast as a datagram', () => link.datagrams.length >= 1, { timeoutMs: 10_000 })
    await waitFor('both broadcasts on the stream', () => link.received.filter(f => f.name === 'broadcast').length >= 2, { timeoutMs: 10_000 })
    assert.deepEqual(datagramBroadcasts(link), [{ text: `${URGENT_PREFIX}pause`, hops: 0 }])
    assert.equal(a.mesh.linkBytes()[0]?.datagramsSent, 1)
  })

  it('a member\'s broadcast that comes only as a datagram is delivered, and its copy on the stream is not delivered again', async () => {
    const a = nodes[0]!
    const frame = signedBroadcast(keys.roomId, raw.keyPair, 0, text(`${URGENT_PREFIX}seek`), RAW_SESSION)
    link.conn.trySend(datagram(DATAGRAM_BROADCAST, encodeBroadcast(frame)))
    await waitFor('a to deliver the datagram\'s broadcast', () => a.rec.texts().includes(`${URGENT_PREFIX}seek`), { timeoutMs: 10_000 })
    link.send('broadcast', encodeBroadcast(frame))
    // A later broadcast on the same stream comes after the copy: once it is delivered, so would the copy be.
    link.send('broadcast', encodeBroadcast(signedBroadcast(keys.roomId, raw.keyPair, 1, text('after'), RAW_SESSION)))
    await waitFor('a to deliver the broadcast after the copy', () => a.rec.texts().includes('after'), { timeoutMs: 10_000 })
    assert.deepEqual(a.rec.texts().filter(t => t === `${URGENT_PREFIX}seek`), [`${URGENT_PREFIX}seek`])
    assert.equal(a.mesh.linkBytes()[0]?.datagramsReceived, 1)
  })

  it('a datagram of a kind this version does not know is ignored, and the member kept', async () => {
    const a = nodes[0]!
    link.conn.trySend(datagram(0x7f, text('from a later version')))
    await waitFor('a to take the datagram', () => a.mesh.linkBytes()[0]?.datagramsReceived === 2, { timeoutMs: 10_000 })
    link.send('broadcast', encodeBroadcast(signedBroadcast(keys.roomId, raw.keyPair, 2, text('still here'), RAW_SESSION)))
    await waitFor('a to deliver c\'s next broadcast', () => a.rec.texts().includes('still here'), { timeoutMs: 10_000 })
    assert.equal(a.mesh.peers().length, 1)
  })

  it('a datagram from a peer not admitted is not taken', async () => {
    const a = nodes[0]!
    const stranger = new RawPeer(testnet)
    try {
      const other = await stranger.connect(a.mesh.id)
      const frame = signedBroadcast(keys.roomId, stranger.keyPair, 0, text('from a stranger'), RAW_SESSION)
      other.conn.trySend(datagram(DATAGRAM_BROADCAST, encodeBroadcast(frame)))
      // Then admitted: its first frames on the stream arrive after the datagram was sent.
      await other.admit(keys.authKey, 'd', RAW_SESSION)
      other.send('broadcast', encodeBroadcast(signedBroadcast(keys.roomId, stranger.keyPair, 1, text('admitted'), RAW_SESSION)))
      await waitFor('a to deliver d\'s broadcast once admitted', () => a.rec.texts().includes('admitted'), { timeoutMs: 10_000 })
      assert.equal(a.rec.texts().includes('from a stranger'), false)
      const fromD = a.mesh.linkBytes().find(l => l.peer === stranger.id)
      assert.equal(fromD?.datagramsReceived, 1, 'the datagram reached a (and was not taken)')
    } finally {
      await stranger.close()
    }
  })
})
