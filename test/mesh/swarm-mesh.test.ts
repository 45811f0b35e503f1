/**
 * SwarmMesh on a local testnet (127.0.0.1): meeting, direct and broadcast messages, clock
 * samples, a clean leave, and a stranger with the topic but not the passphrase.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { barrier, closeAll, createNode, keysFor, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('SwarmMesh on a local testnet', () => {
  let testnet: LocalTestnet
  const nodes: TestNode[] = []

  before(async () => {
    testnet = await startTestnet(3)
  })

  after(async () => {
    await closeAll(nodes)
    await testnet.close()
  })

  it('two nodes meet, exchange a direct and a broadcast message, and see clock samples', async () => {
    const a = createNode(testnet, { name: 'alice' })
    const b = createNode(testnet, { name: 'bob' })
    nodes.push(a, b)
    await Promise.all([a.mesh.start(), b.mesh.start()])
    await waitFullMesh([a, b])

    assert.deepEqual(a.rec.ups.map(p => [p.id, p.name, p.direct]), [[b.mesh.id, 'bob', true]])
    assert.deepEqual(b.rec.ups.map(p => [p.id, p.name, p.direct]), [[a.mesh.id, 'alice', true]])

    assert.equal(a.mesh.send(b.mesh.id, text('direct hi')), true)
    b.mesh.broadcast(text('to everyone'))
    await waitFor('the direct message at b', () => b.rec.messages.length >= 1)
    await waitFor('the broadcast at a', () => a.rec.messages.length >= 1)
    assert.deepEqual(b.rec.messages.map(m => ({ ...m, payload: Buffer.from(m.payload).toString() })),
      [{ from: a.mesh.id, author: a.mesh.id, payload: 'direct hi', broadcast: false }])
    assert.deepEqual(a.rec.messages.map(m => ({ ...m, payload: Buffer.from(m.payload).toString() })),
      [{ from: b.mesh.id, author: b.mesh.id, payload: 'to everyone', broadcast: true }])

    assert.equal(a.mesh.send('00'.repeat(32), text('nobody')), false, 'send to an unknown peer')

    const sample = await waitFor('a clock sample at a', () => a.rec.samples[0])
    assert.equal(sample.peer, b.mesh.id)
    assert.ok(sample.t1 <= sample.t4 && sample.t2 <= sample.t3, 'timestamps are ordered')
    await waitFor('an rtt in peers()', () => a.mesh.peers()[0]?.rttMs !== null)
  })

  it('a clean close is seen as "left" by the other side', async () => {
    const [a, b] = nodes as [TestNode, TestNode]
    await b.mesh.close()
    await waitFor('peer-down at a', () => a.rec.downs.length >= 1)
    assert.deepEqual(a.rec.downs, [{ peer: b.mesh.id, reason: 'left' }])
    assert.deepEqual(a.mesh.peers(), [])
  })

  it('four nodes form a full mesh and every broadcast reaches every other node once', async () => {
    const more = [1, 2, 3, 4].map(i => createNode(testnet, { name: `n${i}` }))
    nodes.push(...more)
    await Promise.all(more.map(n => n.mesh.start()))
    await waitFullMesh(more)

    more.forEach((n, i) => n.mesh.broadcast(text(`from n${i + 1}`)))
    for (const [i, n] of more.entries()) {
      const others = more.filter(o => o !== n)
      await waitFor(`broadcasts at n${i + 1}`, () => n.rec.messages.length >= others.length)
    }
    // Any relayed duplicate has arrived by now (if dedup failed it would show up as an extra message).
    await barrier(more, 'broadcasts')
    for (const [i, n] of more.entries()) {
      const expected = more.flatMap((o, j) => o === n ? [] : [`from n${j + 1}`]).sort()
      assert.deepEqual(n.rec.texts().sort(), expected, `n${i + 1} got each broadcast exactly once`)
      for (const m of n.rec.messages.filter(m => m.broadcast)) {
        const author = more.find(o => o.mesh.id === m.author)
        assert.ok(author !== undefined && Buffer.from(m.payload).toString() === `from n${more.indexOf(author) + 1}`, 'author matches the signer')
      }
    }
  })

  it('a node with the topic but the wrong passphrase is rejected and sees no content', async () => {
    const members = nodes.slice(2)
    const wrong = keysFor('not the passphrase')
    const intruder = createNode(testnet, { name: 'mallory', keys: { ...keysFor('movie night'), authKey: wrong.authKey } })
    nodes.push(intruder)
    await intruder.mesh.start()

    // Both ends check the other's PAKE confirmation, and whichever checks first closes the link: the
    // other end may see only the reset. So each link must have failed on a proof at one end or the other.
    const wrongProof = (n: TestNode, peer: string): boolean => n.rec.logs.some(l => l.peer === peer && /PAKE confirmation is wrong/.test(l.msg))
    const turnedAway = (m: TestNode): boolean => wrongProof(m, intruder.mesh.id) || wrongProof(intruder, m.mesh.id)
    // A deadline: finding a newcomer on the DHT can take a refresh round.
    await waitFor('every link to the intruder to fail on a proof', () => members.every(turnedAway), { timeoutMs: 30_000 }).catch((err: unknown) => {
      const seen = members.map(m => `${m.mesh.id.slice(0, 8)}: ${turnedAway(m) ? 'failed on a proof' : `not yet (${m.rec.logs.filter(l => l.peer === intruder.mesh.id).map(l => l.msg).join(' | ') || 'nothing logged about it'})`}`)
      throw new Error(`${String(err)}; members: ${seen.join('; ')}; the intruder logged: ${intruder.rec.logs.map(l => l.msg).slice(-10).join(' | ')}`)
    })
    for (const m of members) m.mesh.broadcast(text('secret plot'))
    const plots = (m: TestNode): number => m.rec.texts().filter(t => t === 'secret plot').length
    await waitFor('the members to get the broadcasts', () => members.every(m => plots(m) === members.length - 1)).catch((err: unknown) => {
      throw new Error(`${String(err)}; each member got ${members.map(plots).join(', ')} (of ${members.length - 1}); downs: ${members.map(m => m.rec.downs.length).join(', ')}`)
    })

    assert.deepEqual(intruder.rec.ups, [], 'no member admitted the intruder')
    assert.deepEqual(intruder.rec.messages, [], 'the intruder saw no content')
    for (const m of members) {
      assert.ok(!m.rec.ups.some(p => p.id === intruder.mesh.id), 'the intruder never came up')
      assert.ok(!m.mesh.peers().some(p => p.id === intruder.mesh.id))
    }
  })
})
