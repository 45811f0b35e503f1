/**
 * Peers that lie: replayed and reflected PAKE messages, other protocol versions, a fuzzing member,
 * forged relays. Three honest members on a local testnet must shrug each of them off.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import sodium from 'sodium-universal'
import { broadcastSignedBytes, decodeBroadcast, decodeHandshake, encodeBroadcast, encodeHandshake, encodeHello, encodePing, encodeNeighbours, MessageType, PROTOCOL_VERSION } from '../../src/mesh/wire.js'
import type { MessageName } from '../../src/mesh/wire.js'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { barrier, closeAll, createNode, keysFor, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'
import { RawPeer } from './raw-peer.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const keys = keysFor('movie night')
const NAMES = Object.keys(MessageType) as MessageName[]

describe('hostile peers', () => {
  let testnet: LocalTestnet
  let members: TestNode[] = []
  const raws: RawPeer[] = []

  before(async () => {
    testnet = await startTestnet(3)
    members = ['a', 'b', 'c'].map(name => createNode(testnet, { name }))
    await Promise.all(members.map(m => m.mesh.start()))
    await waitFullMesh(members)
  })

  after(async () => {
    await Promise.allSettled(raws.map(r => r.close()))
    await closeAll(members)
    await testnet.close()
  })

  function rawPeer (): RawPeer {
    const raw = new RawPeer(testnet)
    raws.push(raw)
    return raw
  }

  const member = (i: number): TestNode => members[i] as TestNode

  /** No member lost another member or saw one go down: the mesh was not disturbed. */
  function assertMeshIntact (): void {
    const memberIds = new Set(members.map(m => m.mesh.id))
    for (const m of members) {
      assert.deepEqual(m.rec.downs.filter(d => memberIds.has(d.peer)), [], 'no member went down')
      const ids = new Set(m.mesh.peers().filter(p => p.direct).map(p => p.id))
      for (const o of members) if (o !== m) assert.ok(ids.has(o.mesh.id), 'members still connected')
    }
  }

  it('a PAKE share replayed on another connection, reflected back, or not a point, is rejected; nothing but a confirmation reaches it', async () => {
    const a = member(0)
    const b = member(1)
    const replayer = rawPeer()

    // Capture a's share: a opens its channel (with its share) as soon as the connection is up.
    const toA = await replayer.connect(a.mesh.id)
    const captured = decodeHandshake(await waitFor('a\'s handshake', () => toA.sniffedHandshake ?? undefined)).share
    assert.ok(captured !== null)
    // The identity (a small-order point): a PAKE share of no password, refused before anything is sent.
    const identity = new Uint8Array(32)
    identity[0] = 1
    toA.openWith(encodeHandshake({ minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, share: identity }))
    await toA.waitClosed('a to drop the identity share')
    assert.ok(a.rec.logs.some(l => l.peer === replayer.id && /PAKE share is missing or not a valid point/.test(l.msg)), 'a logged the bad share')

    // a's share replayed to b: b answers with its confirmation, but whoever replays cannot answer it.
    const toB = await replayer.connect(b.mesh.id)
    toB.openWith(encodeHandshake({ minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, share: captured }))
    const bConfirm = await waitFor('b\'s confirmation', () => toB.received.find(f => f.name === 'confirm'))
    toB.send('confirm', bConfirm.bytes)
    await toB.waitClosed('b to drop the replayed share')
    assert.ok(b.rec.logs.some(l => l.peer === replayer.id && /PAKE confirmation is wrong/.test(l.msg)), 'b logged the rejection')

    // Reflection: hand a the share and then the confirmation it just sent on this very connection.
    const reflector = rawPeer()
    const mirror = await reflector.connect(a.mesh.id)
    const mirrored = decodeHandshake(await waitFor('a\'s handshake to the reflector', () => mirror.sniffedHandshake ?? undefined)).share
    assert.ok(mirrored !== null)
    mirror.openWith(encodeHandshake({ minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, share: mirrored }))
    const aConfirm = await waitFor('a\'s confirmation to the reflector', () => mirror.received.find(f => f.name === 'confirm'))
    mirror.send('confirm', aConfirm.bytes)
    await mirror.waitClosed('a to drop its own confirmation reflected')

    assert.deepEqual(toA.received, [], 'nothing is sent to a peer whose share is not a point')
    for (const link of [toB, mirror]) assert.deepEqual(link.received.map(f => f.name), ['confirm'], 'only the confirmation is sent before the PAKE succeeds')
    for (const m of members) {
      assert.ok(!m.mesh.peers().some(p => p.id === replayer.id || p.id === reflector.id))
      assert.ok(!m.rec.ups.some(p => p.id === replayer.id || p.id === reflector.id))
    }
    assertMeshIntact()
  })

  it('an older or newer incompatible version gets a clear log line; a newer compatible one is admitted', async () => {
    const a = member(0)
    const future = rawPeer()
    const link = await future.connect(a.mesh.id)
    const newer = `${PROTOCOL_VERSION + 1}..${PROTOCOL_VERSION + 2}`
    link.openWith(encodeHandshake({ minVersion: PROTOCOL_VERSION + 1, maxVersion: PROTOCOL_VERSION + 2, share: link.pake(keys.authKey).share }))
    await link.waitClosed('a to drop the incompatible peer')
    assert.ok(a.rec.logs.some(l => l.peer === future.id && l.msg.includes(`protocol ${newer}`) && /newer watchmesh: upgrade/.test(l.msg)), 'a explained the mismatch')

    // Version 1 proved the passphrase with a MAC where version 2 sends a PAKE share: same layout, refused by version.
    const past = rawPeer()
    const old = await past.connect(a.mesh.id)
    old.openWith(encodeHandshake({ minVersion: 1, maxVersion: 1, share: new Uint8Array(32).fill(7) }))
    await old.waitClosed('a to drop the version 1 peer')
    assert.ok(a.rec.logs.some(l => l.peer === past.id && /protocol 1\.\.1.*older watchmesh that must be upgraded/.test(l.msg)), 'a explained the mismatch')

    const compatible = rawPeer()
    const ok = await compatible.connect(a.mesh.id)
    assert.ok(await ok.runPake(keys.authKey, PROTOCOL_VERSION + 1) !== null, 'a confirmed')
    ok.send('hello', encodeHello({ name: 'future', session: new Uint8Array(8).fill(3) }))
    await waitFor('a\'s hello to the compatible peer', () => ok.received.some(f => f.name === 'hello'))
    assert.ok(a.rec.logs.some(l => l.peer === compatible.id && l.msg.includes(`newer watchmesh protocol (up to ${PROTOCOL_VERSION + 1}); talking version ${PROTOCOL_VERSION}`)))
    ok.conn.destroy()
    assertMeshIntact()
  })

  it('an admitted peer sending thousands of random, truncated and oversized frames is dropped; the rest is unaffected', async () => {
    const a = member(0)
    const fuzzer = rawPeer()
    let frames = 0
    for (let round = 0; round < 12; round++) {
      const link = await fuzzer.connect(a.mesh.id)
      await link.admit(keys.authKey, `fuzz${round}`)
      for (let i = 0; i < 300 && !link.closed; i++, frames++) {
        const kind = (round + i) % 4
        if (round % 4 === 3 && i % 10 === 0) {
          link.writeRaw(randomBytes(1 + (i % 64))) // below protomux
        } else if (kind === 0) {
          link.send(NAMES[i % NAMES.length] as MessageName, randomBytes(i % 100))
        } else if (kind === 1) {
          link.send('ping', encodePing({ tx: i, echo: { tx: 0, rx: 0 } }).subarray(0, i % 25)) // truncated
        } else if (kind === 2) {
          link.send('neighbours', encodeNeighbours({ peers: [randomBytes(32)] }).subarray(0, 5 + (i % 20)))
        } else {
          link.send('direct', randomBytes(a.mesh.limits.maxPayloadBytes * 2 + i)) // oversized
        }
      }
      await link.waitClosed(`a to drop fuzz round ${round}`)
    }
    assert.ok(frames >= 3000, `sent ${frames} frames`)
    const reasons = a.rec.logs.filter(l => l.peer === fuzzer.id && l.level !== 'debug').map(l => l.msg)
    assert.ok(reasons.length >= 12, `a logged each drop: ${reasons.join(' | ')}`)

    // One flood of well-formed frames: the rate limit drops it too.
    const flood = await fuzzer.connect(a.mesh.id)
    await flood.admit(keys.authKey, 'flood')
    for (let i = 0; i < 3 * a.mesh.limits.frameBurst && !flood.closed; i++) flood.send('ping', encodePing({ tx: i, echo: null }))
    await flood.waitClosed('a to drop the flood')
    assert.ok(a.rec.logs.some(l => l.peer === fuzzer.id && /frames\/s/.test(l.msg)), 'a named the rate limit')

    a.mesh.broadcast(text('still here'))
    await waitFor('the others to hear a', () => [member(1), member(2)].every(m => m.rec.texts().includes('still here')))
    assertMeshIntact()
  })

  it('a relayed broadcast with a bad signature or an altered field is dropped by every member', async () => {
    const [a, b, c] = [member(0), member(1), member(2)]
    const relay = rawPeer()
    // Catch a genuine broadcast of a's through b (b relays to a peer whose neighbours it does not know).
    const spy = await relay.connect(b.mesh.id)
    await spy.admit(keys.authKey, 'spy')
    a.mesh.broadcast(text('genuine'))
    const genuine = await waitFor('b to relay a\'s broadcast', () => spy.received.find(f => f.name === 'broadcast'))
    const frame = decodeBroadcast(genuine.bytes, 1 << 20, 100)
    spy.conn.destroy()

    const badSignature = { ...frame, seq: frame.seq + 1000, payload: text('forged: bad signature'), signature: randomBytes(64) }
    const alteredPayload = { ...frame, payload: text('forged: altered payload') }
    const alteredSeq = { ...frame, seq: frame.seq + 1 }
    // Properly signed, but by the relay's key while claiming a as the author.
    const resigned = { ...frame, seq: frame.seq + 2000, payload: text('forged: signed by the relay'), signature: new Uint8Array(64) }
    sodium.crypto_sign_detached(resigned.signature, broadcastSignedBytes(keys.roomId, resigned), relay.keyPair.secretKey)

    for (const target of [a, b, c]) {
      for (const forged of [badSignature, alteredPayload, alteredSeq, resigned]) {
        const link = await relay.connect(target.mesh.id)
        await link.admit(keys.authKey, 'forger')
        link.send('broadcast', encodeBroadcast(forged))
        await link.waitClosed('the member to drop the forger')
      }
      assert.ok(target.rec.logs.some(l => l.peer === relay.id && /bad signature/.test(l.msg)))
    }
    // Anything a member delivered and relayed before dropping a forger has arrived by now.
    await barrier(members, 'after the forgeries')
    for (const m of members) {
      assert.ok(!m.rec.texts().some(t => t.startsWith('forged')), 'no forged content delivered')
    }
    assert.equal(b.rec.texts().filter(t => t === 'genuine').length, 1)
    assert.equal(c.rec.texts().filter(t => t === 'genuine').length, 1, 'the altered-seq replay was not delivered again')
    assertMeshIntact()
  })
})
