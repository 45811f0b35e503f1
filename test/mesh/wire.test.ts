/** Round trips and bad input for every frame of the `watchmesh` channel. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as wire from '../../src/mesh/wire.js'
import { isWatchmeshError } from '../../src/errors.js'

const MAX_PAYLOAD = 1024
const MAX_HOPS = 8
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)

const broadcast: wire.BroadcastFrame = {
  author: bytes(32, 1),
  session: bytes(8, 2),
  seq: 300,
  hops: 2,
  signature: bytes(64, 3),
  payload: new TextEncoder().encode('pause at 12.3 s')
}

/** Every decoder with one valid encoding of its frame. */
const cases: Array<{ name: string, encoded: Uint8Array, decode: (b: Uint8Array) => unknown, value: unknown }> = [
  { name: 'handshake', encoded: wire.encodeHandshake({ minVersion: 2, maxVersion: 2, share: bytes(32, 9) }), decode: wire.decodeHandshake, value: { minVersion: 2, maxVersion: 2, share: bytes(32, 9) } },
  { name: 'confirm', encoded: wire.encodeConfirm(bytes(32, 8)), decode: wire.decodeConfirm, value: bytes(32, 8) },
  { name: 'hello', encoded: wire.encodeHello({ name: 'Zoë', session: bytes(8, 4) }), decode: wire.decodeHello, value: { name: 'Zoë', session: bytes(8, 4) } },
  { name: 'ping', encoded: wire.encodePing({ tx: 1234.5678, echo: null }), decode: wire.decodePing, value: { tx: 1234.5678, echo: null } },
  { name: 'ping with echo', encoded: wire.encodePing({ tx: 2.75, echo: { tx: 1, rx: 2.5 } }), decode: wire.decodePing, value: { tx: 2.75, echo: { tx: 1, rx: 2.5 } } },
  { name: 'direct', encoded: wire.encodeDirect(bytes(5, 1)), decode: b => wire.decodeDirect(b, MAX_PAYLOAD), value: bytes(5, 1) },
  { name: 'broadcast', encoded: wire.encodeBroadcast(broadcast), decode: b => wire.decodeBroadcast(b, MAX_PAYLOAD, MAX_HOPS), value: broadcast },
  { name: 'full', encoded: wire.encodeFull({ maxPeers: 32 }), decode: wire.decodeFull, value: { maxPeers: 32 } },
  { name: 'neighbours', encoded: wire.encodeNeighbours({ peers: [bytes(32, 5), bytes(32, 6)] }), decode: wire.decodeNeighbours, value: { peers: [bytes(32, 5), bytes(32, 6)] } },
  { name: 'neighbours with sessions', encoded: wire.encodeNeighbours({ peers: [bytes(32, 5)], sessions: [bytes(8, 9)] }), decode: wire.decodeNeighbours, value: { peers: [bytes(32, 5)], sessions: [bytes(8, 9)] } }
]

function assertBadMessage (fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => isWatchmeshError(err, 'BAD_MESSAGE'), what)
}

describe('wire codecs', () => {
  for (const c of cases) {
    it(`${c.name}: round trip, trailing bytes ignored, every truncation rejected`, () => {
      assert.deepEqual(c.decode(c.encoded), c.value)
      const extended = new Uint8Array([...c.encoded, 0xff, 0x00])
      assert.deepEqual(c.decode(extended), c.value, 'a later revision may append fields')
      // The handshake's share is optional (a peer of another version may lay it out differently);
      // so are the sessions appended to a neighbour list (an older peer sends none).
      const mandatory = c.name === 'handshake' ? 2 : c.name === 'neighbours with sessions' ? 33 : c.encoded.byteLength
      for (let n = 0; n < mandatory; n++) {
        assertBadMessage(() => c.decode(c.encoded.subarray(0, n)), `${c.name} cut to ${n} bytes`)
      }
    })
  }

  it('a handshake without a full share decodes with share null', () => {
    const encoded = wire.encodeHandshake({ minVersion: 1, maxVersion: 3, share: bytes(32, 9) })
    assert.deepEqual(wire.decodeHandshake(encoded.subarray(0, 10)), { minVersion: 1, maxVersion: 3, share: null })
  })

  it('rejects an empty version range, a time that is not finite, a ping sent before what it echoes arrived', () => {
    assertBadMessage(() => wire.decodeHandshake(wire.encodeHandshake({ minVersion: 3, maxVersion: 2, share: bytes(32, 0) })), 'range 3..2')
    assertBadMessage(() => wire.decodePing(wire.encodePing({ tx: Number.NaN, echo: null })), 'NaN')
    assertBadMessage(() => wire.decodePing(wire.encodePing({ tx: 9, echo: { tx: Infinity, rx: 1 } })), 'Infinity')
    assertBadMessage(() => wire.decodePing(wire.encodePing({ tx: 4, echo: { tx: 1, rx: 5 } })), 'tx < echo.rx')
  })

  it('bounds every variable-length field', () => {
    assertBadMessage(() => wire.decodeDirect(wire.encodeDirect(new Uint8Array(MAX_PAYLOAD + 1)), MAX_PAYLOAD), 'direct payload')
    assert.equal(wire.decodeDirect(wire.encodeDirect(new Uint8Array(MAX_PAYLOAD)), MAX_PAYLOAD).byteLength, MAX_PAYLOAD)
    assertBadMessage(() => wire.decodeBroadcast(wire.encodeBroadcast({ ...broadcast, payload: new Uint8Array(MAX_PAYLOAD + 1) }), MAX_PAYLOAD, MAX_HOPS), 'broadcast payload')
    assertBadMessage(() => wire.decodeBroadcast(wire.encodeBroadcast({ ...broadcast, hops: MAX_HOPS + 1 }), MAX_PAYLOAD, MAX_HOPS), 'hops')
    assert.throws(() => wire.encodeHello({ name: 'x'.repeat(wire.MAX_NAME_BYTES + 1), session: bytes(8, 0) }))
    // A hello claiming a 1000-byte name, and a neighbour list claiming 10^6 entries.
    assertBadMessage(() => wire.decodeHello(new Uint8Array([0xfd, 0xe8, 0x03, ...bytes(1000, 65), ...bytes(8, 0)])), 'long name')
    assertBadMessage(() => wire.decodeNeighbours(new Uint8Array([0xfe, 0x40, 0x42, 0x0f, 0x00])), 'huge count')
    // A length prefix beyond 2^53 must not turn into a bogus number.
    assertBadMessage(() => wire.decodeFull(new Uint8Array([0xff, 255, 255, 255, 255, 255, 255, 255, 255])), 'uint64 overflow')
  })

  it('random bytes never make a decoder throw anything but BAD_MESSAGE', () => {
    const decoders = [...cases.map(c => c.decode), wire.decodeBye]
    for (let i = 0; i < 20_000; i++) {
      const input = randomBytes(i % 200)
      for (const decode of decoders) {
        try {
          decode(input)
        } catch (err) {
          if (!isWatchmeshError(err, 'BAD_MESSAGE')) throw err
        }
      }
    }
  })

  it('the signed bytes cover every field but hops and the signature', () => {
    const topic = bytes(32, 7)
    const base = wire.broadcastSignedBytes(topic, broadcast)
    assert.deepEqual(wire.broadcastSignedBytes(topic, { ...broadcast, hops: 7 } as wire.BroadcastFrame), base)
    for (const changed of [
      { ...broadcast, author: bytes(32, 9) },
      { ...broadcast, session: bytes(8, 9) },
      { ...broadcast, seq: 301 },
      { ...broadcast, payload: new TextEncoder().encode('pause at 12.4 s') }
    ]) assert.notDeepEqual(wire.broadcastSignedBytes(topic, changed), base)
    assert.notDeepEqual(wire.broadcastSignedBytes(bytes(32, 8), broadcast), base, 'bound to the room')
  })
})
