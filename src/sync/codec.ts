/**
 * Wire form of `SyncMessage` (compact-encoding). The mesh carries the bytes opaquely.
 *
 * Layout: version (uint8), type tag (uint8), then the body of that type. Every string and array
 * has a bound; the whole message has a bound; trailing bytes are an error. Anything that does not
 * decode cleanly throws `WatchmeshError` `BAD_MESSAGE`; a version above ours throws
 * `PROTOCOL_VERSION` so the caller can tell "upgrade" from "garbage".
 */
import c from 'compact-encoding'
import { WatchmeshError } from '../errors.js'
import type { Media, NodeId, PlaybackState, SyncMessage } from './types.js'

type State = ReturnType<typeof c.state>

/** Bump when the layout changes; peers refuse what they cannot read. */
export const SYNC_PROTOCOL_VERSION = 1
/** Far above any real message (an 8-node offsets list is ~800 B); keeps a peer from making us chew. */
export const MAX_SYNC_MESSAGE_BYTES = 4096
/** A node id is the hex of a 32-byte key; allow nothing longer. */
export const MAX_NODE_ID_BYTES = 64
/** A file basename (255 bytes on common file systems) or a title, with room to spare. */
export const MAX_MEDIA_ID_BYTES = 320
/** Display only; longer names are cut by `fitMedia` before they are sent. */
export const MAX_MEDIA_NAME_BYTES = 256
/**
 * One entry per direct peer, and a node has at most the mesh's room limit of them (32 peers). An
 * entry with a full-length node id is 81 bytes (1 + 64 + two float64s): 32 of them are 2592 bytes,
 * within MAX_SYNC_MESSAGE_BYTES (64 would not be).
 */
export const MAX_OFFSET_ENTRIES = 32
/** Rates outside this are not playback (mpv accepts 0.01..100). */
export const MIN_RATE = 0.01
export const MAX_RATE = 100
/** Any position or time must be a finite number below ~285 years in ms: catches garbage floats. */
export const MAX_ABS_TIME_MS = 9e12
/** A chat line: 200 characters of any script (up to 4 bytes each) fit. */
export const MAX_CHAT_BYTES = 800
/** An operator envelope holds one encoded event or announce, with room for its key and signature. */
export const MAX_OPERATED_INNER_BYTES = MAX_SYNC_MESSAGE_BYTES - 128
const OPERATOR_KEY_BYTES = 32
const OPERATOR_SIGNATURE_BYTES = 64

const TAG_EVENT = 1
const TAG_ANNOUNCE = 2
const TAG_OFFSETS = 3
const TAG_STATE_REQUEST = 4
const TAG_MEDIA_WAIT = 5
const TAG_CHAT = 6
const TAG_OPERATED = 7
const TAG_CLOCK_SYNCED = 8
/** clock-synced's first byte: 0 and 1 as older peers send them (a bool), 2 followed by the clock minus the wall clock. */
const CLOCK_UNSYNCED = 0
const CLOCK_SYNCED = 1
const CLOCK_SYNCED_AT = 2

const FLAG_PLAYING = 1
const FLAG_MEDIA = 2
const FLAG_LENGTH = 4
const FLAG_CLOCK = 8
const KNOWN_FLAGS = FLAG_PLAYING | FLAG_MEDIA | FLAG_LENGTH | FLAG_CLOCK

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeSyncMessage (msg: SyncMessage): Uint8Array {
  const state = c.state()
  try {
    message.preencode(state, msg)
  } catch (err) {
    throw new WatchmeshError('BAD_MESSAGE', `cannot encode ${msg.type}: ${(err as Error).message}`, { cause: err })
  }
  if (state.end > MAX_SYNC_MESSAGE_BYTES) throw WatchmeshError.badMessage(`${msg.type} message too large: ${state.end} bytes`)
  state.buffer = new Uint8Array(state.end)
  message.encode(state, msg)
  return state.buffer
}

export function decodeSyncMessage (bytes: Uint8Array): SyncMessage {
  if (bytes.byteLength > MAX_SYNC_MESSAGE_BYTES) throw WatchmeshError.badMessage(`sync message too large: ${bytes.byteLength} bytes`)
  if (bytes.byteLength < 2) throw WatchmeshError.badMessage('sync message truncated')
  const version = bytes[0] as number
  if (version > SYNC_PROTOCOL_VERSION) {
    throw new WatchmeshError('PROTOCOL_VERSION', `sync protocol version ${version} is newer than ours (${SYNC_PROTOCOL_VERSION})`)
  }
  const state = c.state(0, bytes.byteLength, bytes)
  let msg: SyncMessage
  try {
    msg = message.decode(state)
  } catch (err) {
    if (err instanceof WatchmeshError) throw err
    throw new WatchmeshError('BAD_MESSAGE', `malformed sync message: ${(err as Error).message}`, { cause: err })
  }
  if (state.start !== state.end) throw WatchmeshError.badMessage(`${state.end - state.start} trailing bytes after ${msg.type}`)
  return msg
}

/**
 * A control event (an `event`, or an `operated` envelope around one): what the mesh relays over a
 * second path at once, so it never waits on one link's retransmission. Announces are not: they
 * repeat every 2 s anyway, and a second copy of each would double a link's idle bytes. Anything
 * that does not decode is not urgent (the receiver rejects it on delivery).
 */
export function isControlEvent (bytes: Uint8Array): boolean {
  let msg: SyncMessage
  try {
    msg = decodeSyncMessage(bytes)
  } catch {
    return false
  }
  if (msg.type === 'event') return true
  if (msg.type !== 'operated') return false
  try {
    return decodeSyncMessage(msg.inner).type === 'event'
  } catch {
    return false
  }
}

/** Cuts a media description to what the wire accepts (long titles happen; ids are rarely that long). */
export function fitMedia (media: Media | null): Media | null {
  if (media === null) return null
  return { id: truncateUtf8(media.id, MAX_MEDIA_ID_BYTES), name: truncateUtf8(media.name, MAX_MEDIA_NAME_BYTES), lengthMs: media.lengthMs }
}

function truncateUtf8 (s: string, maxBytes: number): string {
  if (utf8Encoder.encode(s).byteLength <= maxBytes) return s
  let out = ''
  let bytes = 0
  for (const ch of s) {
    const n = utf8Encoder.encode(ch).byteLength
    if (bytes + n > maxBytes) break
    out += ch
    bytes += n
  }
  return out
}

function bad (what: string): never {
  throw WatchmeshError.badMessage(what)
}

/** A utf-8 string of at most `maxBytes`, checked before anything is allocated. */
function boundedString (maxBytes: number, what: string) {
  return {
    preencode (state: State, s: string): void {
      const n = utf8Encoder.encode(s).byteLength
      if (n > maxBytes) bad(`${what} too long: ${n} bytes (max ${maxBytes})`)
      c.uint.preencode(state, n)
      state.end += n
    },
    encode (state: State, s: string): void {
      const b = utf8Encoder.encode(s)
      c.uint.encode(state, b.byteLength)
      ;(state.buffer as Uint8Array).set(b, state.start)
      state.start += b.byteLength
    },
    decode (state: State): string {
      const n = c.uint.decode(state)
      if (n > maxBytes) bad(`${what} too long: ${n} bytes (max ${maxBytes})`)
      if (state.end - state.start < n) bad(`${what} truncated`)
      const b = (state.buffer as Uint8Array).subarray(state.start, state.start + n)
      state.start += n
      try {
        return utf8Decoder.decode(b)
      } catch {
        return bad(`${what} is not utf-8`)
      }
    }
  }
}

const nodeId = boundedString(MAX_NODE_ID_BYTES, 'node id')
const mediaId = boundedString(MAX_MEDIA_ID_BYTES, 'media id')
const mediaName = boundedString(MAX_MEDIA_NAME_BYTES, 'media name')
const chatText = boundedString(MAX_CHAT_BYTES, 'chat text')

function checkNodeId (id: NodeId): NodeId {
  if (id.length === 0) bad('empty node id')
  return id
}

/** A finite float64 within ±MAX_ABS_TIME_MS. */
function time (what: string) {
  return {
    preencode (state: State, v: number): void {
      checkTime(v, what)
      c.float64.preencode(state, v)
    },
    encode (state: State, v: number): void {
      c.float64.encode(state, v)
    },
    decode (state: State): number {
      return checkTime(c.float64.decode(state), what)
    }
  }
}

function checkTime (v: number, what: string): number {
  if (!Number.isFinite(v) || Math.abs(v) > MAX_ABS_TIME_MS) bad(`${what} out of range: ${v}`)
  return v
}

function checkRate (v: number): number {
  if (!Number.isFinite(v) || v < MIN_RATE || v > MAX_RATE) bad(`rate out of range: ${v}`)
  return v
}

function checkLamport (v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) bad(`lamport out of range: ${v}`)
  return v
}

const positionMs = time('positionMs')
const atMs = time('atMs')
const lengthMs = time('lengthMs')
const offsetMs = time('offsetMs')
const rttMs = time('rttMs')
const clockMinusWallMs = time('clockMinusWallMs')

const playbackState = {
  preencode (state: State, s: PlaybackState): void {
    state.end += 1 // flags
    if (s.media !== null) {
      mediaId.preencode(state, s.media.id)
      mediaName.preencode(state, s.media.name)
      if (s.media.lengthMs !== null) lengthMs.preencode(state, s.media.lengthMs)
    }
    positionMs.preencode(state, s.positionMs)
    atMs.preencode(state, s.atMs)
    checkRate(s.rate)
    c.float64.preencode(state, s.rate)
    c.uint.preencode(state, checkLamport(s.stamp.lamport))
    nodeId.preencode(state, checkNodeId(s.stamp.nodeId))
    if (s.clock !== undefined) nodeId.preencode(state, checkNodeId(s.clock))
  },
  encode (state: State, s: PlaybackState): void {
    let flags = 0
    if (s.playing) flags |= FLAG_PLAYING
    if (s.media !== null) flags |= FLAG_MEDIA
    if (s.media !== null && s.media.lengthMs !== null) flags |= FLAG_LENGTH
    if (s.clock !== undefined) flags |= FLAG_CLOCK
    c.uint8.encode(state, flags)
    if (s.media !== null) {
      mediaId.encode(state, s.media.id)
      mediaName.encode(state, s.media.name)
      if (s.media.lengthMs !== null) lengthMs.encode(state, s.media.lengthMs)
    }
    positionMs.encode(state, s.positionMs)
    atMs.encode(state, s.atMs)
    c.float64.encode(state, s.rate)
    c.uint.encode(state, s.stamp.lamport)
    nodeId.encode(state, s.stamp.nodeId)
    if (s.clock !== undefined) nodeId.encode(state, s.clock)
  },
  decode (state: State): PlaybackState {
    const flags = c.uint8.decode(state)
    if ((flags & ~KNOWN_FLAGS) !== 0) bad(`unknown state flags ${flags}`)
    if ((flags & FLAG_LENGTH) !== 0 && (flags & FLAG_MEDIA) === 0) bad('length without media')
    let media: Media | null = null
    if ((flags & FLAG_MEDIA) !== 0) {
      const id = mediaId.decode(state)
      const name = mediaName.decode(state)
      const length = (flags & FLAG_LENGTH) !== 0 ? lengthMs.decode(state) : null
      if (length !== null && length < 0) bad('negative media length')
      media = { id, name, lengthMs: length }
    }
    const s: PlaybackState = {
      media,
      playing: (flags & FLAG_PLAYING) !== 0,
      positionMs: positionMs.decode(state),
      atMs: atMs.decode(state),
      rate: checkRate(c.float64.decode(state)),
      stamp: { lamport: checkLamport(c.uint.decode(state)), nodeId: checkNodeId(nodeId.decode(state)) }
    }
    if ((flags & FLAG_CLOCK) !== 0) s.clock = checkNodeId(nodeId.decode(state))
    return s
  }
}

type OffsetEntry = { peer: NodeId, offsetMs: number, rttMs: number }

const offsetEntries = {
  preencode (state: State, entries: OffsetEntry[]): void {
    if (entries.length > MAX_OFFSET_ENTRIES) bad(`too many offset entries: ${entries.length}`)
    c.uint.preencode(state, entries.length)
    for (const e of entries) {
      nodeId.preencode(state, checkNodeId(e.peer))
      offsetMs.preencode(state, e.offsetMs)
      rttMs.preencode(state, e.rttMs)
    }
  },
  encode (state: State, entries: OffsetEntry[]): void {
    c.uint.encode(state, entries.length)
    for (const e of entries) {
      nodeId.encode(state, e.peer)
      offsetMs.encode(state, e.offsetMs)
      rttMs.encode(state, e.rttMs)
    }
  },
  decode (state: State): OffsetEntry[] {
    const n = c.uint.decode(state)
    if (n > MAX_OFFSET_ENTRIES) bad(`too many offset entries: ${n}`)
    const entries: OffsetEntry[] = []
    for (let i = 0; i < n; i++) {
      const peer = checkNodeId(nodeId.decode(state))
      const offset = offsetMs.decode(state)
      const rtt = rttMs.decode(state)
      if (rtt < 0) bad('negative rtt')
      entries.push({ peer, offsetMs: offset, rttMs: rtt })
    }
    return entries
  }
}

const message = {
  preencode (state: State, msg: SyncMessage): void {
    state.end += 2 // version, tag
    switch (msg.type) {
      case 'event': return playbackState.preencode(state, msg.state)
      case 'announce':
        playbackState.preencode(state, msg.state)
        return nodeId.preencode(state, checkNodeId(msg.leader))
      case 'offsets': return offsetEntries.preencode(state, msg.entries)
      case 'state-request': return
      case 'media-wait':
        mediaId.preencode(state, msg.mediaId)
        state.end += 1 // ready
        return
      case 'chat': return chatText.preencode(state, msg.text)
      case 'clock-synced':
        state.end += 1
        if (msg.clockMinusWallMs !== undefined) {
          if (!msg.synced) bad('a clock minus wall clock from an unsynced clock')
          clockMinusWallMs.preencode(state, msg.clockMinusWallMs)
        }
        return
      case 'operated':
        if (msg.operatorKey.byteLength !== OPERATOR_KEY_BYTES || msg.signature.byteLength !== OPERATOR_SIGNATURE_BYTES) bad('operator key or signature of the wrong size')
        if (msg.inner.byteLength > MAX_OPERATED_INNER_BYTES) bad(`operated message too large: ${msg.inner.byteLength} bytes`)
        state.end += OPERATOR_KEY_BYTES + OPERATOR_SIGNATURE_BYTES
        return c.buffer.preencode(state, msg.inner)
    }
  },
  encode (state: State, msg: SyncMessage): void {
    c.uint8.encode(state, SYNC_PROTOCOL_VERSION)
    switch (msg.type) {
      case 'event':
        c.uint8.encode(state, TAG_EVENT)
        return playbackState.encode(state, msg.state)
      case 'announce':
        c.uint8.encode(state, TAG_ANNOUNCE)
        playbackState.encode(state, msg.state)
        return nodeId.encode(state, msg.leader)
      case 'offsets':
        c.uint8.encode(state, TAG_OFFSETS)
        return offsetEntries.encode(state, msg.entries)
      case 'state-request':
        c.uint8.encode(state, TAG_STATE_REQUEST)
        return
      case 'media-wait':
        c.uint8.encode(state, TAG_MEDIA_WAIT)
        mediaId.encode(state, msg.mediaId)
        c.bool.encode(state, msg.ready)
        return
      case 'chat':
        c.uint8.encode(state, TAG_CHAT)
        return chatText.encode(state, msg.text)
      case 'clock-synced':
        c.uint8.encode(state, TAG_CLOCK_SYNCED)
        c.uint8.encode(state, !msg.synced ? CLOCK_UNSYNCED : msg.clockMinusWallMs === undefined ? CLOCK_SYNCED : CLOCK_SYNCED_AT)
        if (msg.clockMinusWallMs !== undefined) clockMinusWallMs.encode(state, msg.clockMinusWallMs)
        return
      case 'operated':
        c.uint8.encode(state, TAG_OPERATED)
        c.fixed32.encode(state, msg.operatorKey)
        c.fixed64.encode(state, msg.signature)
        return c.buffer.encode(state, msg.inner)
    }
  },
  decode (state: State): SyncMessage {
    const version = c.uint8.decode(state)
    if (version !== SYNC_PROTOCOL_VERSION) bad(`unsupported sync protocol version ${version}`)
    const tag = c.uint8.decode(state)
    switch (tag) {
      case TAG_EVENT: return { type: 'event', state: playbackState.decode(state) }
      case TAG_ANNOUNCE: {
        const s = playbackState.decode(state)
        return { type: 'announce', state: s, leader: checkNodeId(nodeId.decode(state)) }
      }
      case TAG_OFFSETS: return { type: 'offsets', entries: offsetEntries.decode(state) }
      case TAG_STATE_REQUEST: return { type: 'state-request' }
      case TAG_MEDIA_WAIT: return { type: 'media-wait', mediaId: mediaId.decode(state), ready: c.bool.decode(state) }
      case TAG_CHAT: return { type: 'chat', text: chatText.decode(state) }
      case TAG_CLOCK_SYNCED: {
        const how = c.uint8.decode(state)
        if (how === CLOCK_UNSYNCED) return { type: 'clock-synced', synced: false }
        if (how === CLOCK_SYNCED) return { type: 'clock-synced', synced: true }
        if (how === CLOCK_SYNCED_AT) return { type: 'clock-synced', synced: true, clockMinusWallMs: clockMinusWallMs.decode(state) }
        return bad(`unknown clock-synced kind ${how}`)
      }
      case TAG_OPERATED: {
        const operatorKey = c.fixed32.decode(state).slice()
        const signature = c.fixed64.decode(state).slice()
        const n = c.uint.decode(state)
        if (n > MAX_OPERATED_INNER_BYTES) bad(`operated message too large: ${n} bytes`)
        if (state.end - state.start < n) bad('operated message truncated')
        const inner = (state.buffer as Uint8Array).slice(state.start, state.start + n)
        state.start += n
        return { type: 'operated', operatorKey, signature, inner }
      }
      default: return bad(`unknown sync message type ${tag}`)
    }
  }
}
