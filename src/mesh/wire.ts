/**
 * The wire codec of the `watchmesh` protomux channel: pure functions from values to bytes and
 * back. Every decoder checks every bound and throws `BAD_MESSAGE` on anything malformed;
 * the session closes the connection when one does. docs/protocol.md lists the same fields.
 *
 * Trailing bytes after the known fields are ignored, so a later minor revision can append
 * fields without breaking older peers; truncation is always an error.
 */
import * as c from 'compact-encoding'
import { WatchmeshError } from '../errors.js'

/** protomux protocol name of the one channel per connection. */
export const PROTOCOL = 'watchmesh'
/**
 * The wire versions this build speaks; the handshake negotiates the highest common one.
 * Version 2 proves the passphrase with a PAKE (pake.ts) instead of version 1's MAC: the two cannot
 * admit each other, so a build speaks only one.
 */
export const PROTOCOL_VERSION = 2
export const MIN_PROTOCOL_VERSION = 2

/** Message types, in the order they are added to the channel (the index is the type on the wire). */
export const MessageType = {
  hello: 0,
  ping: 1,
  direct: 2,
  broadcast: 3,
  bye: 4,
  full: 5,
  neighbours: 6,
  confirm: 7
} as const
export type MessageName = keyof typeof MessageType

export const SHARE_BYTES = 32
export const CONFIRM_BYTES = 32
export const KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
/** A random id per mesh start, so sequence numbers restart safely after a restart. */
export const SESSION_BYTES = 8
/** Display names: enough for "Grandma's living room", never a paragraph. */
export const MAX_NAME_BYTES = 64
/** A list of our direct peers: bounded well above any room we admit. */
export const MAX_NEIGHBOURS = 256

export interface Handshake {
  minVersion: number
  maxVersion: number
  /** The sender's PAKE share (pake.ts); null when absent or short. */
  share: Uint8Array | null
}

export interface Hello {
  name: string
  /** The sender's session id: a new one means the peer restarted (not just reconnected). */
  session: Uint8Array
}
/**
 * The keepalive, which is also the clock probe, sent by both sides every second. Instead of a
 * separate pong it echoes the peer's latest ping: the peer's send time and when we received it.
 * Either side thus completes a four-timestamp exchange (t1 = echo.tx, t2 = echo.rx, t3 = tx,
 * t4 = arrival) from one frame per second each way: half the packets of ping + pong.
 */
export interface Ping {
  /** When this ping was sent, sender's clock. */
  tx: number
  /** The receiver's latest ping to us: its `tx` (receiver's clock) and our arrival time (ours). */
  echo: { tx: number, rx: number } | null
}
export interface Full { maxPeers: number }
/**
 * The sender's direct peers and, appended after them (older peers ignore the extra bytes), each
 * one's current session id: a receiver then takes broadcasts of a member it hears only through
 * relays from that member's current session only (an old session's signed events replay nothing).
 */
export interface Neighbours { peers: Uint8Array[], sessions?: Uint8Array[] }

export interface BroadcastFrame {
  author: Uint8Array
  session: Uint8Array
  seq: number
  /** Relays so far; not signed (a relay must change it), only bounded. */
  hops: number
  signature: Uint8Array
  payload: Uint8Array
}

type State = { start: number, end: number, buffer: Uint8Array | null }

function encodeWith (fields: (state: State, pass: 'pre' | 'enc') => void): Uint8Array {
  const state: State = { start: 0, end: 0, buffer: null }
  fields(state, 'pre')
  state.buffer = new Uint8Array(state.end)
  fields(state, 'enc')
  return state.buffer
}

function put<T> (enc: { preencode: (s: State, v: T) => void, encode: (s: State, v: T) => void }, state: State, pass: 'pre' | 'enc', value: T): void {
  if (pass === 'pre') enc.preencode(state, value)
  else enc.encode(state, value)
}

/** Reads fields off one frame; any out-of-bounds read or bad value becomes `BAD_MESSAGE`. */
class Reader {
  private readonly state: State

  constructor (private readonly what: string, bytes: Uint8Array) {
    this.state = { start: 0, end: bytes.byteLength, buffer: bytes }
  }

  uint (max = Number.MAX_SAFE_INTEGER): number {
    const value = this.guard(() => c.uint.decode(this.state))
    if (!Number.isSafeInteger(value) || value > max) throw this.bad(`integer ${value} out of range`)
    return value
  }

  float64 (): number {
    const value = this.guard(() => c.float64.decode(this.state))
    if (!Number.isFinite(value)) throw this.bad('time is not a finite number')
    return value
  }

  fixed (n: number): Uint8Array {
    if (this.remaining() < n) throw this.bad('truncated')
    const bytes = this.bytesAt(this.state.start, n)
    this.state.start += n
    return bytes
  }

  /** A length-prefixed byte string of at most `max` bytes. */
  bytes (max: number): Uint8Array {
    const n = this.uint()
    if (n > max) throw this.bad(`${n} bytes exceed the bound of ${max}`)
    return this.fixed(n)
  }

  remaining (): number {
    return this.state.end - this.state.start
  }

  bad (why: string): WatchmeshError {
    return WatchmeshError.badMessage(`malformed ${this.what}: ${why}`)
  }

  /** A copy, so a retained field does not pin the whole receive buffer. */
  private bytesAt (start: number, n: number): Uint8Array {
    return (this.state.buffer as Uint8Array).slice(start, start + n)
  }

  private guard<T> (read: () => T): T {
    try {
      return read()
    } catch {
      throw this.bad('truncated')
    }
  }
}

export function encodeHandshake (h: { minVersion: number, maxVersion: number, share: Uint8Array }): Uint8Array {
  return encodeWith((s, pass) => {
    put(c.uint, s, pass, h.minVersion)
    put(c.uint, s, pass, h.maxVersion)
    put(c.fixed32, s, pass, h.share)
  })
}

/**
 * Only the version range is mandatory: a peer of another version may lay out the rest
 * differently, and we still want to read its versions to log a clear mismatch.
 */
export function decodeHandshake (bytes: Uint8Array): Handshake {
  const r = new Reader('handshake', bytes)
  const minVersion = r.uint()
  const maxVersion = r.uint()
  if (minVersion > maxVersion) throw r.bad(`version range ${minVersion}..${maxVersion} is empty`)
  const share = r.remaining() >= SHARE_BYTES ? r.fixed(SHARE_BYTES) : null
  return { minVersion, maxVersion, share }
}

/** The PAKE confirmation (pake.ts): exactly what shows the sender derived the same key. */
export function encodeConfirm (confirm: Uint8Array): Uint8Array {
  if (confirm.byteLength !== CONFIRM_BYTES) throw WatchmeshError.badMessage(`a confirmation is ${CONFIRM_BYTES} bytes`)
  return confirm
}

export function decodeConfirm (bytes: Uint8Array): Uint8Array {
  return new Reader('confirmation', bytes).fixed(CONFIRM_BYTES)
}

export function encodeHello (h: Hello): Uint8Array {
  const name = new TextEncoder().encode(h.name)
  if (name.byteLength > MAX_NAME_BYTES) throw WatchmeshError.badMessage(`name longer than ${MAX_NAME_BYTES} bytes`)
  return encodeWith((s, pass) => {
    put(c.buffer, s, pass, name)
    put(c.fixed(SESSION_BYTES), s, pass, h.session)
  })
}

/** The name comes back raw (valid UTF-8 is not checked here); sanitise it before showing it. */
export function decodeHello (bytes: Uint8Array): Hello {
  const r = new Reader('hello', bytes)
  const name = new TextDecoder('utf-8', { fatal: false }).decode(r.bytes(MAX_NAME_BYTES))
  return { name, session: r.fixed(SESSION_BYTES) }
}

const PING_HAS_ECHO = 1

export function encodePing (p: Ping): Uint8Array {
  return encodeWith((s, pass) => {
    put(c.float64, s, pass, p.tx)
    put(c.uint, s, pass, p.echo === null ? 0 : PING_HAS_ECHO)
    if (p.echo !== null) {
      put(c.float64, s, pass, p.echo.tx)
      put(c.float64, s, pass, p.echo.rx)
    }
  })
}

export function decodePing (bytes: Uint8Array): Ping {
  const r = new Reader('ping', bytes)
  const tx = r.float64()
  const flags = r.uint()
  if ((flags & PING_HAS_ECHO) === 0) return { tx, echo: null }
  const echo = { tx: r.float64(), rx: r.float64() }
  if (tx < echo.rx) throw r.bad('sent (tx) before it received what it echoes (rx)')
  return { tx, echo }
}

export function encodeDirect (payload: Uint8Array): Uint8Array {
  return encodeWith((s, pass) => put(c.buffer, s, pass, payload))
}

export function decodeDirect (bytes: Uint8Array, maxPayloadBytes: number): Uint8Array {
  return new Reader('direct message', bytes).bytes(maxPayloadBytes)
}

export function encodeBroadcast (b: BroadcastFrame): Uint8Array {
  return encodeWith((s, pass) => {
    put(c.fixed32, s, pass, b.author)
    put(c.fixed(SESSION_BYTES), s, pass, b.session)
    put(c.uint, s, pass, b.seq)
    put(c.uint, s, pass, b.hops)
    put(c.fixed64, s, pass, b.signature)
    put(c.buffer, s, pass, b.payload)
  })
}

export function decodeBroadcast (bytes: Uint8Array, maxPayloadBytes: number, maxHops: number): BroadcastFrame {
  const r = new Reader('broadcast', bytes)
  return {
    author: r.fixed(KEY_BYTES),
    session: r.fixed(SESSION_BYTES),
    seq: r.uint(),
    hops: r.uint(maxHops),
    signature: r.fixed(SIGNATURE_BYTES),
    payload: r.bytes(maxPayloadBytes)
  }
}

/**
 * The bytes a broadcast's author signs: a domain label, the room's secret id (so a signed event
 * cannot be replayed into another room, not even one that shares the topic), and every field but `hops`.
 */
export function broadcastSignedBytes (roomId: Uint8Array, b: Omit<BroadcastFrame, 'hops' | 'signature'>): Uint8Array {
  return encodeWith((s, pass) => {
    put(c.string, s, pass, `watchmesh/broadcast/v${PROTOCOL_VERSION}`)
    put(c.fixed32, s, pass, roomId)
    put(c.fixed32, s, pass, b.author)
    put(c.fixed(SESSION_BYTES), s, pass, b.session)
    put(c.uint, s, pass, b.seq)
    put(c.buffer, s, pass, b.payload)
  })
}

export function encodeBye (): Uint8Array {
  return new Uint8Array(0)
}

export function decodeBye (_bytes: Uint8Array): void {
  // No fields in v1; anything after them is a later revision's addition.
}

export function encodeFull (f: Full): Uint8Array {
  return encodeWith((s, pass) => put(c.uint, s, pass, f.maxPeers))
}

export function decodeFull (bytes: Uint8Array): Full {
  return { maxPeers: new Reader('room-full notice', bytes).uint() }
}

export function encodeNeighbours (n: Neighbours): Uint8Array {
  if (n.peers.length > MAX_NEIGHBOURS) throw WatchmeshError.badMessage(`more than ${MAX_NEIGHBOURS} neighbours`)
  const sessions = n.sessions !== undefined && n.sessions.length === n.peers.length ? n.sessions : null
  return encodeWith((s, pass) => {
    put(c.uint, s, pass, n.peers.length)
    for (const peer of n.peers) put(c.fixed32, s, pass, peer)
    if (sessions !== null) for (const session of sessions) put(c.fixed(SESSION_BYTES), s, pass, session)
  })
}

export function decodeNeighbours (bytes: Uint8Array): Neighbours {
  const r = new Reader('neighbour list', bytes)
  const count = r.uint(MAX_NEIGHBOURS)
  const peers: Uint8Array[] = []
  for (let i = 0; i < count; i++) peers.push(r.fixed(KEY_BYTES))
  if (count === 0 || r.remaining() < count * SESSION_BYTES) return { peers }
  const sessions: Uint8Array[] = []
  for (let i = 0; i < count; i++) sessions.push(r.fixed(SESSION_BYTES))
  return { peers, sessions }
}
