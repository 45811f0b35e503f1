/**
 * A member (it knows the passphrase) who abuses the broadcast relay: four admitted links to one
 * honest member b, each sending 150 broadcasts a second, signed by invented keys or by one of its
 * own keys. b must not pass the flood on, and nobody may drop an honest neighbour for what it
 * relayed. Three honest members on a local testnet.
 */
import { after, before, describe, it } from 'node:test'
import { performance } from 'node:perf_hooks'
import assert from 'node:assert/strict'
import DHT from 'hyperdht'
import { encodeBroadcast, encodeNeighbours } from '../../src/mesh/wire.js'
import { signedBroadcast } from './forge.js'
import type { BroadcastFrame } from '../../src/mesh/wire.js'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { closeAll, createNode, keysFor, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'
import { RawPeer } from './raw-peer.js'
import type { RawLink } from './raw-peer.js'

const keys = keysFor('movie night')
const LINKS = 4
const FRAMES_PER_SEC_PER_LINK = 150

function signed (author: DHT.KeyPair, seq: number, text: string, session?: Uint8Array): BroadcastFrame {
  return signedBroadcast(keys.roomId, author, seq, new TextEncoder().encode(text), session)
}

/** Frames each scenario sends in all: well above every budget, whatever the machine's load. */
const FRAMES = 1200

/**
 * The links send FRAMES frames of `make(i)` in all, paced at FRAMES_PER_SEC_PER_LINK each (below
 * each link's own limit). Returns how long the flood took, ms (the budget is per second).
 */
async function flood (links: RawLink[], make: (i: number) => BroadcastFrame): Promise<number> {
  const startMs = performance.now()
  let i = 0
  const perTick = FRAMES_PER_SEC_PER_LINK / 50
  while (i < FRAMES) {
    for (const link of links) for (let k = 0; k < perTick && i < FRAMES; k++) link.send('broadcast', encodeBroadcast(make(i++)))
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return performance.now() - startMs
}

describe('a member abusing the relay', () => {
  let testnet: LocalTestnet
  let members: TestNode[] = []
  const raws: RawPeer[] = []
  const links: RawLink[] = []

  before(async () => {
    testnet = await startTestnet(3)
    members = ['a', 'b', 'c'].map(name => createNode(testnet, { name }))
    await Promise.all(members.map(m => m.mesh.start()))
    await waitFullMesh(members)
    const b = members[1] as TestNode
    for (let i = 0; i < LINKS; i++) {
      const raw = new RawPeer(testnet)
      raws.push(raw)
      const link = await raw.connect(b.mesh.id)
      await link.admit(keys.authKey, `abuser${i}`, new Uint8Array(8).fill(i))
      links.push(link)
    }
    // b tells a and c about its new direct peers: they are members now, as far as anyone can tell.
    await waitFor('a to count the abuser as a member', () => (members[0] as TestNode).mesh.isMember(raws[0]?.id ?? ''))
  })

  after(async () => {
    await Promise.allSettled(raws.map(r => r.close()))
    await closeAll(members)
    await testnet.close()
  })

  function assertNoHonestDrops (): void {
    const ids = new Set(members.map(m => m.mesh.id))
    for (const m of members) {
      assert.deepEqual(m.rec.downs.filter(d => ids.has(d.peer)), [], 'no honest member went down')
      const logs = m.rec.logs.filter(l => l.peer !== undefined && ids.has(l.peer) && /dropping the connection/.test(l.msg))
      assert.deepEqual(logs.map(l => l.msg), [], 'no honest member was dropped')
    }
  }

  it('broadcasts signed by invented keys are neither delivered nor relayed', async () => {
    const invented = Array.from({ length: 64 }, () => DHT.keyPair())
    await flood(links, i => signed(invented[i % invented.length] as DHT.KeyPair, i, `invented ${i}`))
    const inventedIds = new Set(invented.map(k => Buffer.from(k.publicKey).toString('hex')))
    for (const m of members) {
      assert.equal(m.rec.messages.filter(msg => inventedIds.has(msg.author)).length, 0, 'no invented author delivered')
    }
    const b = members[1] as TestNode
    assert.ok(b.rec.logs.some(l => /not a member/.test(l.msg)), 'b says why it discarded them (verbose)')
    assertNoHonestDrops()
    assert.ok(links.every(l => !l.closed), 'the relaying links are not blamed for frames they could have relayed')
  })

  it('one member\'s flood of its own broadcasts is held to its budget; its honest relays are not dropped', async () => {
    const [a, b, c] = members as [TestNode, TestNode, TestNode]
    const author = raws[0] as RawPeer
    const before = a.rec.messages.filter(m => m.author === author.id).length
    // Its current session (the hello of link 0): an old session's would be refused anyway.
    const tookMs = await flood(links, i => signed(author.keyPair, 1_000_000 + i, `own ${i}`, new Uint8Array(8).fill(0)))
    // Late copies still in flight would only add to the count: waiting makes the bound stricter.
    await new Promise(resolve => setTimeout(resolve, 500))
    // The budget: a burst plus the sustained rate over the flood (with 2 s of slack for delivery).
    const limits = b.mesh.limits
    const budget = limits.authorBurst + limits.maxBroadcastsPerAuthorPerSec * (tookMs / 1000 + 2)
    for (const m of [a, b, c]) {
      const delivered = m.rec.messages.filter(msg => msg.author === author.id).length - (m === a ? before : 0)
      assert.ok(delivered > 0 && delivered <= budget, `${delivered} of ${FRAMES} delivered (budget ${budget.toFixed(0)})`)
    }
    assertNoHonestDrops()
    a.mesh.broadcast(new TextEncoder().encode('still here'))
    await waitFor('b and c to hear a', () => [b, c].every(m => m.rec.texts().includes('still here')))
  })

  it('keys a member vouches for alone share one budget, not one each: inventing 32 does not multiply its flood', async () => {
    const b = members[1] as TestNode
    const voucher = links[1] as RawLink
    const invented = Array.from({ length: b.mesh.limits.maxPeers }, () => DHT.keyPair())
    const inventedIds = new Set(invented.map(k => Buffer.from(k.publicKey).toString('hex')))
    voucher.send('neighbours', encodeNeighbours({ peers: invented.map(k => k.publicKey) }))
    await waitFor('b to count the vouched keys as members', () => [...inventedIds].every(id => b.mesh.isMember(id)))
    const tookMs = await flood(links, i => signed(invented[i % invented.length] as DHT.KeyPair, i, `vouched ${i}`))
    await new Promise(resolve => setTimeout(resolve, 500))
    const delivered = b.rec.messages.filter(m => inventedIds.has(m.author)).length
    // One author budget each would take all FRAMES (32 bursts of 60 exceed it); the shared one is
    // 4 authors' burst plus 4 authors' rate over the flood (with 2 s of slack for delivery).
    const limits = b.mesh.limits
    const shared = 4 * (limits.authorBurst + limits.maxBroadcastsPerAuthorPerSec * (tookMs / 1000 + 2))
    assert.ok(invented.length * limits.authorBurst >= FRAMES, 'without the shared budget every frame would pass')
    assert.ok(delivered > 0 && delivered <= shared, `${delivered} of ${FRAMES} delivered (shared budget ${shared.toFixed(0)})`)
    assertNoHonestDrops()
  })
})
