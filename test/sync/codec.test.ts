import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeSyncMessage, encodeSyncMessage, fitMedia, MAX_CHAT_BYTES, MAX_MEDIA_NAME_BYTES, MAX_OFFSET_ENTRIES,
  MAX_SYNC_MESSAGE_BYTES, SYNC_PROTOCOL_VERSION, isControlEvent
} from '../../src/sync/codec.js'
import { isWatchmeshError } from '../../src/errors.js'
import type { PlaybackState, SyncMessage } from '../../src/sync/types.js'

const A = 'a'.repeat(64)
const B = '0123456789abcdef'.repeat(4)

const playing: PlaybackState = {
  media: { id: 'film.mkv', name: 'film.mkv', lengthMs: 5_400_000 },
  playing: true,
  positionMs: 61_234.567,
  atMs: 987_654.321,
  rate: 1.25,
  stamp: { lamport: 17, nodeId: A }
}

const samples: SyncMessage[] = [
  { type: 'event', state: playing },
  { type: 'event', state: { ...playing, media: null, playing: false, positionMs: 0, rate: 1, stamp: { lamport: 0, nodeId: B } } },
  { type: 'event', state: { ...playing, media: { id: 'x', name: 'ünïcödé 映画', lengthMs: null } } },
  { type: 'announce', state: { ...playing, clock: B, stamp: { lamport: 2 ** 40, nodeId: A } }, leader: B },
  { type: 'offsets', entries: [] },
  { type: 'offsets', entries: [{ peer: A, offsetMs: -12.5, rttMs: 100.25 }, { peer: B, offsetMs: 3e9, rttMs: 0 }] },
  { type: 'state-request' },
  { type: 'chat', text: 'back in 5 🍿' },
  { type: 'chat', text: '' },
  { type: 'clock-synced', synced: true },
  { type: 'clock-synced', synced: false },
  { type: 'clock-synced', synced: true, clockMinusWallMs: -3_600_000.25 }
]

function assertCode (fn: () => unknown, code: 'BAD_MESSAGE' | 'PROTOCOL_VERSION'): void {
  assert.throws(fn, (err: unknown) => isWatchmeshError(err, code))
}

/** Small seeded generator (mulberry32) so failures reproduce. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test('every message type round-trips', () => {
  for (const msg of samples) {
    const bytes = encodeSyncMessage(msg)
    assert.equal(bytes[0], SYNC_PROTOCOL_VERSION)
    assert.deepEqual(decodeSyncMessage(bytes), msg)
  }
})

test('clock-synced as older peers send it (a bool) still reads; an unsynced clock has no wall clock to be minus, and an unknown kind is BAD_MESSAGE', () => {
  assert.deepEqual(decodeSyncMessage(Uint8Array.from([SYNC_PROTOCOL_VERSION, 8, 1])), { type: 'clock-synced', synced: true })
  assert.deepEqual(decodeSyncMessage(Uint8Array.from([SYNC_PROTOCOL_VERSION, 8, 0])), { type: 'clock-synced', synced: false })
  assertCode(() => encodeSyncMessage({ type: 'clock-synced', synced: false, clockMinusWallMs: 3 }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'clock-synced', synced: true, clockMinusWallMs: Number.NaN }), 'BAD_MESSAGE')
  assertCode(() => decodeSyncMessage(Uint8Array.from([SYNC_PROTOCOL_VERSION, 8, 3])), 'BAD_MESSAGE')
})

test('an event with media is small', () => {
  assert.ok(encodeSyncMessage(samples[0] as SyncMessage).byteLength < 150)
})

test('every truncation is BAD_MESSAGE', () => {
  for (const msg of samples) {
    const bytes = encodeSyncMessage(msg)
    for (let n = 0; n < bytes.byteLength; n++) assertCode(() => decodeSyncMessage(bytes.subarray(0, n)), 'BAD_MESSAGE')
  }
})

test('trailing bytes are BAD_MESSAGE', () => {
  for (const msg of samples) {
    const bytes = encodeSyncMessage(msg)
    const longer = new Uint8Array(bytes.byteLength + 1)
    longer.set(bytes)
    assertCode(() => decodeSyncMessage(longer), 'BAD_MESSAGE')
  }
})

test('a newer version is PROTOCOL_VERSION, an unknown older one or an unknown type is BAD_MESSAGE', () => {
  const bytes = encodeSyncMessage({ type: 'state-request' })
  assertCode(() => decodeSyncMessage(Uint8Array.of(SYNC_PROTOCOL_VERSION + 1, bytes[1] as number)), 'PROTOCOL_VERSION')
  assertCode(() => decodeSyncMessage(Uint8Array.of(0, bytes[1] as number)), 'BAD_MESSAGE')
  assertCode(() => decodeSyncMessage(Uint8Array.of(SYNC_PROTOCOL_VERSION, 99)), 'BAD_MESSAGE')
})

test('oversized input is BAD_MESSAGE before any parsing', () => {
  const big = new Uint8Array(MAX_SYNC_MESSAGE_BYTES + 1)
  big[0] = SYNC_PROTOCOL_VERSION
  assertCode(() => decodeSyncMessage(big), 'BAD_MESSAGE')
})

test('a full offsets list with full-length node ids fits the sync message limit', () => {
  const full = Array.from({ length: MAX_OFFSET_ENTRIES }, (_, i) => ({ peer: i.toString(16).padStart(64, 'f'), offsetMs: -123456.789, rttMs: 987.6 }))
  const bytes = encodeSyncMessage({ type: 'offsets', entries: full })
  assert.ok(bytes.byteLength <= MAX_SYNC_MESSAGE_BYTES, `${bytes.byteLength} bytes`)
  assert.deepEqual(decodeSyncMessage(bytes), { type: 'offsets', entries: full })
})

test('bounds hold on both sides: long strings, too many entries, absurd numbers', () => {
  const longName = { ...playing, media: { id: 'x', name: 'n'.repeat(MAX_MEDIA_NAME_BYTES + 1), lengthMs: null } }
  assertCode(() => encodeSyncMessage({ type: 'event', state: longName }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'chat', text: 'x'.repeat(MAX_CHAT_BYTES + 1) }), 'BAD_MESSAGE')
  const tooMany = Array.from({ length: MAX_OFFSET_ENTRIES + 1 }, () => ({ peer: 'p', offsetMs: 0, rttMs: 0 }))
  assertCode(() => encodeSyncMessage({ type: 'offsets', entries: tooMany }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'event', state: { ...playing, positionMs: Number.NaN } }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'event', state: { ...playing, rate: 0 } }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'event', state: { ...playing, stamp: { lamport: 1.5, nodeId: A } } }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'event', state: { ...playing, stamp: { lamport: 1, nodeId: '' } } }), 'BAD_MESSAGE')
  assertCode(() => encodeSyncMessage({ type: 'event', state: { ...playing, stamp: { lamport: 1, nodeId: A + 'x' } } }), 'BAD_MESSAGE')

  // A hand-made entry count far past the bound must be refused without allocating for it.
  const forged = Uint8Array.of(SYNC_PROTOCOL_VERSION, 3, 0xfe, 0xff, 0xff, 0xff, 0x0f)
  assertCode(() => decodeSyncMessage(forged), 'BAD_MESSAGE')
  // A string length past its bound, likewise.
  const state = encodeSyncMessage({ type: 'event', state: playing })
  const bad = Uint8Array.from(state)
  bad[3] = 0xfd; bad[4] = 0xff; bad[5] = 0xff // media id length 65535
  assertCode(() => decodeSyncMessage(bad), 'BAD_MESSAGE')
})

test('non-finite floats on the wire are BAD_MESSAGE', () => {
  const bytes = encodeSyncMessage({ type: 'event', state: { ...playing, media: null } })
  // flags(1) after version+tag, then positionMs float64 at offset 3.
  const view = new DataView(bytes.buffer, bytes.byteOffset)
  view.setFloat64(3, Number.POSITIVE_INFINITY, true)
  assertCode(() => decodeSyncMessage(bytes), 'BAD_MESSAGE')
})

test('random bytes never throw anything but a WatchmeshError', () => {
  const rand = rng(20261101)
  let decoded = 0
  for (let i = 0; i < 5000; i++) {
    const len = Math.floor(rand() * 80)
    const bytes = new Uint8Array(len)
    for (let j = 0; j < len; j++) bytes[j] = Math.floor(rand() * 256)
    if (len > 0 && rand() < 0.7) bytes[0] = SYNC_PROTOCOL_VERSION
    if (len > 1 && rand() < 0.7) bytes[1] = 1 + Math.floor(rand() * 4)
    try {
      const msg = decodeSyncMessage(bytes)
      decoded++
      assert.deepEqual(decodeSyncMessage(encodeSyncMessage(msg)), msg) // whatever decodes re-encodes
    } catch (err) {
      assert.ok(isWatchmeshError(err), `seed 20261101 case ${i}: ${String(err)}`)
    }
  }
  assert.ok(decoded > 0, 'some random inputs (state-request, empty offsets) should decode')
})

test('fitMedia cuts long names on a character boundary to fit the wire', () => {
  const media = fitMedia({ id: 'id', name: '映'.repeat(200), lengthMs: 1 })
  assert.ok(media !== null)
  assert.ok(new TextEncoder().encode(media.name).byteLength <= MAX_MEDIA_NAME_BYTES)
  assert.ok(media.name.length > 0 && [...media.name].every(ch => ch === '映'))
  assert.doesNotThrow(() => encodeSyncMessage({ type: 'event', state: { ...playing, media } }))
  assert.equal(fitMedia(null), null)
})

test('isControlEvent: events, and operated envelopes around one, are urgent; nothing else', () => {
  const operated = (inner: SyncMessage): Uint8Array => encodeSyncMessage({ type: 'operated', operatorKey: new Uint8Array(32).fill(1), signature: new Uint8Array(64).fill(2), inner: encodeSyncMessage(inner) })
  const event = samples[0] as SyncMessage
  const announce = samples[3] as SyncMessage
  assert.equal(isControlEvent(encodeSyncMessage(event)), true)
  assert.equal(isControlEvent(operated(event)), true)
  assert.equal(isControlEvent(operated(announce)), false)
  for (const msg of samples.filter(m => m.type !== 'event')) assert.equal(isControlEvent(encodeSyncMessage(msg)), false, msg.type)
  assert.equal(isControlEvent(new Uint8Array([SYNC_PROTOCOL_VERSION, 1, 0xff])), false, 'a truncated event')
  assert.equal(isControlEvent(new Uint8Array(0)), false)
})
