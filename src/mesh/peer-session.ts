/**
 * One connection to one peer: the `watchmesh` protomux channel, admission, keepalive and frame
 * checks. The mesh owns the set of sessions and decides what admitted frames mean.
 *
 * Life of a session:
 *   proving  -> our channel-open carries our version range and PAKE share (pake.ts); we wait for
 *               theirs. protomux delivers no message before the remote's open.
 *   confirming -> their share taken; we sent our confirmation and wait for theirs (the only frame
 *               allowed). A wrong one means another room in our topic's bucket, or a wrong
 *               passphrase: the two look alike by design (a failed run says nothing more).
 *   admitted -> their confirmation verified; we sent hello; waiting for theirs (the only frame allowed).
 *   ready    -> hello received: the mesh emits peer-up; pings flow both ways (each echoing the
 *               other's latest, which makes it a clock probe); the stream times out after
 *               `deadPeerMs` of silence.
 *   closed   -> the connection is gone; the mesh emits peer-down if it was ready.
 * A missing proof or hello past `admissionTimeoutMs`, a wrong proof, a malformed frame, a frame
 * out of turn or a flood of frames all close the connection with a log line. Before the PAKE
 * succeeds the peer is a stranger: what it is refused for goes to the owner (`onRefused`), which
 * summarises a flood instead of printing a line per connection; its channel open (the proof) must
 * arrive within `proofTimeoutMs`, far sooner than the whole admission.
 */
import * as c from 'compact-encoding'
import Protomux from 'protomux'
import type HyperDHT from 'hyperdht'
import { isWatchmeshError } from '../errors.js'
import { PakeExchange } from './pake.js'
import { sanitizeName, shortId } from './names.js'
import { TokenBucket } from './rate-limit.js'
import type { MeshLimits, PeerId } from './types.js'
import {
  MessageType, MIN_PROTOCOL_VERSION, PROTOCOL, PROTOCOL_VERSION,
  decodeBroadcast, decodeBye, decodeConfirm, decodeDirect, decodeFull, decodeHandshake, decodeHello, decodeNeighbours, decodePing,
  encodeBroadcast, encodeBye, encodeConfirm, encodeDirect, encodeFull, encodeHandshake, encodeHello, encodeNeighbours, encodePing
} from './wire.js'
import type { BroadcastFrame, MessageName, Ping } from './wire.js'

type SecretStream = HyperDHT.SecretStream
type Channel = Protomux.Channel<Uint8Array>
type Message = Protomux.Message<Uint8Array>

export type SessionState = 'proving' | 'confirming' | 'admitted' | 'ready' | 'closed'

/**
 * Right after admission, pings are answered at once (each answer echoing the other's) until this
 * many have been exchanged, so both sides hold a few clock samples within milliseconds of meeting
 * instead of one per keepalive period: a control event in the first second can then be placed on
 * the shared timeline at once. Bounded, so it cannot turn into a ping storm.
 */
const FAST_START_PINGS = 4
/** Echoes are matched to the pings we sent; a few in flight cover a slow link. */
const MAX_OUTSTANDING_PINGS = 4

/**
 * Payloads that parse as frames but not as sync messages (or break the sync rules): an honest
 * peer of a newer minor version may send a few we do not understand; a stream of them is abuse.
 * 5 at once, then one a minute.
 */
const INVALID_PAYLOAD_BURST = 5
const INVALID_PAYLOADS_PER_SEC = 1 / 60

/** Errors of the transport itself (a peer gone quiet, reset, or gone): how a lost peer shows up. */
const TRANSPORT_ERROR_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ECONNREFUSED'])
/** secret-stream's own timeout (our `deadPeerMs`) is a plain Error with no code: its text is all there is. */
const STREAM_TIMEOUT_MESSAGE = 'Stream timed out'

function isTransportError (err: Error & { code?: unknown }): boolean {
  return (typeof err.code === 'string' && TRANSPORT_ERROR_CODES.has(err.code)) || err.message === STREAM_TIMEOUT_MESSAGE
}

/**
 * The refusal kind of a failed PAKE. Rooms that share a topic bucket meet and part this way, once
 * per pair of keys (the key is then refused before any handshake), so it is no sign of an attack.
 */
export const OTHER_ROOM = 'another room in this topic (or a wrong passphrase)'

/** Broadcasts are relayed at most this many hops: more than any room's diameter. */
export const MAX_RELAY_HOPS = 8
/** A datagram's first byte says what follows: a broadcast frame, as on the stream. Others are ignored. */
export const DATAGRAM_BROADCAST = 1
/**
 * Datagrams are sent only up to this many bytes: with secret-stream's 24 and UDX's 20 bytes of
 * headers, one UDP packet inside UDX's smallest MTU (1200). A control event's frame is ~300.
 */
export const MAX_DATAGRAM_BYTES = 1000

/** What a session needs from the mesh that owns it. */
export interface SessionOwner {
  readonly authKey: Uint8Array
  readonly localName: string
  readonly localSession: Uint8Array
  readonly limits: MeshLimits
  now (): number
  log (level: 'info' | 'warn' | 'debug', msg: string, peer?: PeerId): void
  /** Asked once the peer's proof verified: false tells the peer the room is full. */
  hasRoomFor (session: PeerSession): boolean
  /**
   * The peer's PAKE failed (another room of our bucket, or a wrong passphrase) or its share was not
   * a point: retrying will not fix that, so the mesh refuses its key.
   */
  onRejected (session: PeerSession): void
  /** The peer sent a well-formed PAKE share: a stranger still, but not one that sent nothing. */
  onShared (session: PeerSession): void
  /** The peer's proof checked out: it is no longer a stranger's connection. */
  onProven (session: PeerSession): void
  /**
   * A stranger's connection (no valid proof yet) is being dropped: `kind` is the short reason a
   * summary counts, `detail` the full one, `level` how loud a line of its own would be.
   */
  onRefused (session: PeerSession, kind: string, detail: string, level: 'warn' | 'debug'): void
  /** A frame from an admitted peer was discarded without blaming it (counted like a refusal). */
  onDiscarded (session: PeerSession, kind: string, detail: string): void
  onReady (session: PeerSession): void
  onClosed (session: PeerSession, reason: 'left' | 'lost', wasReady: boolean): void
  onDirect (session: PeerSession, payload: Uint8Array): void
  onBroadcast (session: PeerSession, frame: BroadcastFrame): void
  onClockSample (session: PeerSession, sample: { t1: number, t2: number, t3: number, t4: number }): void
  onNeighbours (session: PeerSession, peers: PeerId[], sessions: string[] | null): void
}

export class PeerSession {
  readonly peerId: PeerId
  name: string
  /** The peer's session id from its hello (hex); null before. */
  remoteSession: string | null = null
  rttMs: number | null = null
  state: SessionState = 'proving'
  /** The peer's own direct peers, from its latest `neighbours`; null until it sends one. */
  neighbours: Set<PeerId> | null = null
  /** Their current session ids (hex), when its `neighbours` carries them. */
  neighbourSessions: Map<PeerId, string> | null = null

  private channel: Channel | null = null
  private pake: PakeExchange | null = null
  private readonly send = new Map<MessageName, Message>()
  /** Datagrams sent to the peer and received from it, taken or not (see `sendBroadcast`), for `linkBytes`. */
  datagramsSent = 0
  datagramsReceived = 0
  private readonly outstandingPings: number[] = []
  /** The peer's latest ping, to echo in our next one (each is echoed once). */
  private toEcho: { tx: number, rx: number } | null = null
  private fastStartPingsLeft = FAST_START_PINGS
  private readonly frames: TokenBucket
  /**
   * Broadcasts it relays (authored by someone else) do not count against its own frame budget:
   * the author's budget (author-budget.ts) bounds them, and a neighbour is never dropped for what
   * it only passed on. This bucket only bounds the work they can cost us; beyond it they are
   * discarded, the link kept.
   */
  private readonly relayed: TokenBucket
  /** Invalid payloads it may send before we drop it: a bug now and then, never a stream of them. */
  private readonly invalid = new TokenBucket(INVALID_PAYLOADS_PER_SEC, INVALID_PAYLOAD_BURST)
  private admissionTimer: NodeJS.Timeout | null = null
  private proofTimer: NodeJS.Timeout | null = null
  private byeReceived = false
  private wasReady = false

  /** `address`: the remote host the stream comes from (per-address bounds on strangers). */
  constructor (readonly conn: SecretStream, private readonly owner: SessionOwner, readonly address = 'unknown') {
    this.peerId = Buffer.from(conn.remotePublicKey).toString('hex')
    this.name = shortId(this.peerId)
    this.frames = new TokenBucket(owner.limits.maxFramesPerSec, owner.limits.frameBurst)
    const relayRate = owner.limits.maxBroadcastsPerAuthorPerSec * owner.limits.maxPeers
    this.relayed = new TokenBucket(relayRate, owner.limits.authorBurst * owner.limits.maxPeers)
  }

  /** Opens our side of the channel (sending our proof) and starts the admission deadline. */
  open (): void {
    const conn = this.conn
    // A timeout or reset is a transport detail, for --verbose: the daemon tells a lost peer as
    // such ("lost contact with bob"). Any other error after admission (garbage below our
    // framing) is why a member was dropped: worth a line. Before admission these are just
    // strangers and duplicates coming and going.
    conn.on('error', (err: Error & { code?: unknown }) => {
      const worthALine = this.wasReady && !isTransportError(err)
      this.log(worthALine ? 'info' : 'debug', `connection closed: ${err.message}`)
    })
    conn.on('close', () => this.onConnectionClosed())
    conn.on('message', (datagram: Uint8Array) => this.onDatagram(datagram))

    const channel = Protomux.from(conn).createChannel<Uint8Array>({
      protocol: PROTOCOL,
      handshake: c.raw,
      onopen: handshake => this.onOpen(handshake),
      onclose: () => this.destroy()
    })
    if (channel === null) {
      this.destroy()
      return
    }
    this.channel = channel
    // Registration order is the wire type number: it must follow `MessageType`.
    for (const [name, type] of Object.entries(MessageType) as Array<[MessageName, number]>) {
      const message = channel.addMessage<Uint8Array>({ encoding: c.raw, onmessage: bytes => this.onFrame(name, bytes) })
      if (this.send.size !== type) throw new Error(`message ${name} registered out of order`)
      this.send.set(name, message)
    }

    this.admissionTimer = setTimeout(() => {
      const why = `no valid proof and hello within ${this.owner.limits.admissionTimeoutMs} ms`
      if (this.state === 'proving' || this.state === 'confirming') this.refuse('never proved the passphrase', why, 'debug')
      else this.fail(why)
    }, this.owner.limits.admissionTimeoutMs)
    this.admissionTimer.unref()
    this.proofTimer = setTimeout(() => {
      if (this.state === 'proving') this.refuse('sent no proof in time', `no channel open (proof) within ${this.owner.limits.proofTimeoutMs} ms`, 'debug')
    }, this.owner.limits.proofTimeoutMs)
    this.proofTimer.unref()

    this.pake = new PakeExchange(this.owner.authKey, conn.handshakeHash, conn.isInitiator)
    channel.open(encodeHandshake({ minVersion: MIN_PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, share: this.pake.share }))
  }

  /** Sends the keepalive: our time, and the echo of the peer's latest ping (see wire.ts). */
  ping (): void {
    if (this.state !== 'ready') return
    const tx = this.owner.now()
    this.outstandingPings.push(tx)
    if (this.outstandingPings.length > MAX_OUTSTANDING_PINGS) this.outstandingPings.shift()
    this.write('ping', encodePing({ tx, echo: this.toEcho }))
    this.toEcho = null
  }

  sendDirect (payload: Uint8Array): void {
    this.write('direct', encodeDirect(payload))
  }

  /**
   * `urgent` (a control event): also as a datagram beside the stream, so a packet of the stream lost
   * on this link (its retransmission ~240 ms later holds back everything after it) does not hold
   * the event back where the datagram gets through. The receiver's dedup drops the later copy.
   */
  sendBroadcast (frame: BroadcastFrame, urgent = false): void {
    const bytes = encodeBroadcast(frame)
    this.write('broadcast', bytes)
    if (urgent) this.sendDatagram(DATAGRAM_BROADCAST, bytes)
  }

  sendNeighbours (peers: Uint8Array[], sessions?: Uint8Array[]): void {
    this.write('neighbours', encodeNeighbours(sessions === undefined ? { peers } : { peers, sessions }))
  }

  /** A clean leave: tell the peer, then half-close so the goodbye is flushed before the end. */
  sayBye (): void {
    if (this.state === 'ready') this.write('bye', encodeBye())
    this.state = 'closed'
    this.clearAdmissionTimer()
    this.conn.end()
  }

  /** Drops the connection (idempotent); the mesh hears about it from the stream's close. */
  destroy (): void {
    if (this.state !== 'closed') this.state = 'closed'
    this.clearAdmissionTimer()
    if (!this.conn.destroyed) this.conn.destroy()
  }

  /**
   * Since the connection opened: encrypted stream bytes read and written, and what UDX sent
   * for them (with its headers, acks and retransmits; UDP/IP headers not included).
   */
  get bytes (): { read: number, written: number, udxBytesSent: number, udxPacketsSent: number } {
    const udx = this.conn.rawStream
    return {
      read: this.conn.rawBytesRead,
      written: this.conn.rawBytesWritten,
      udxBytesSent: udx?.bytesTransmitted ?? 0,
      udxPacketsSent: udx?.packetsTransmitted ?? 0
    }
  }

  private onOpen (handshakeBytes: Uint8Array): void {
    if (this.state !== 'proving') return
    this.clearProofTimer()
    let handshake
    try {
      handshake = decodeHandshake(handshakeBytes)
    } catch (err) {
      this.refuse('malformed handshake', errorText(err), 'debug')
      return
    }

    const common = Math.min(PROTOCOL_VERSION, handshake.maxVersion)
    if (common < Math.max(MIN_PROTOCOL_VERSION, handshake.minVersion)) {
      const theirs = `${handshake.minVersion}..${handshake.maxVersion}`
      const ours = `${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`
      const advice = handshake.minVersion > PROTOCOL_VERSION
        ? 'it runs a newer watchmesh: upgrade this one to join it'
        : 'it runs an older watchmesh that must be upgraded'
      // Not banned: once one side upgrades, hyperswarm's next retry (1, 5, 15 s) gets through.
      this.refuse('other protocol version', `peer speaks watchmesh protocol ${theirs}, this build speaks ${ours}; ${advice}`, 'warn')
      return
    }
    if (handshake.maxVersion > PROTOCOL_VERSION) {
      this.log('info', `peer speaks a newer watchmesh protocol (up to ${handshake.maxVersion}); talking version ${common}`)
    }

    const confirm = handshake.share === null || this.pake === null ? null : this.pake.respond(handshake.share)
    if (confirm === null) {
      this.owner.onRejected(this)
      this.refuse('invalid PAKE share', 'rejected: its PAKE share is missing or not a valid point (not watchmesh)', 'debug')
      return
    }
    this.state = 'confirming'
    this.owner.onShared(this)
    this.write('confirm', encodeConfirm(confirm))
  }

  private onConfirm (remoteConfirm: Uint8Array): void {
    if (this.pake === null || !this.pake.verify(remoteConfirm)) {
      this.owner.onRejected(this)
      this.refuse(OTHER_ROOM, 'rejected: its PAKE confirmation is wrong (a room with another passphrase that shares our topic, or a wrong passphrase)', 'debug')
      return
    }
    this.pake = null
    this.state = 'admitted'
    this.owner.onProven(this)
    if (!this.owner.hasRoomFor(this)) {
      this.log('warn', `room is full (${this.owner.limits.maxPeers} peers); turning the peer away`)
      this.write('full', encodeFull({ maxPeers: this.owner.limits.maxPeers }))
      this.state = 'closed'
      this.clearAdmissionTimer()
      this.conn.end()
      return
    }
    this.write('hello', encodeHello({ name: this.owner.localName, session: this.owner.localSession }))
  }

  private onFrame (name: MessageName, bytes: Uint8Array): void {
    if (this.state === 'closed') return
    const receivedAt = this.owner.now()

    if (this.state === 'ready' && name === 'broadcast' && !authoredBy(bytes, this.conn.remotePublicKey)) {
      if (!this.relayed.take(receivedAt)) {
        this.owner.onDiscarded(this, 'relayed beyond every author\'s budget', `${shortId(this.peerId)} relayed more broadcasts than all members may send together`)
        return
      }
    } else if (!this.frames.take(receivedAt)) {
      this.fail(`sent more than ${this.owner.limits.maxFramesPerSec} frames/s (burst ${this.owner.limits.frameBurst})`)
      return
    }
    const expected = this.state === 'ready'
      ? name !== 'hello' && name !== 'confirm'
      : this.state === 'confirming' ? name === 'confirm' : this.state === 'admitted' && (name === 'hello' || name === 'full')
    if (!expected) {
      if (this.state === 'proving' || this.state === 'confirming') this.refuse('frames before a proof', `sent ${name} before proving the passphrase`, 'debug')
      else this.fail(`sent ${name} out of turn (while ${this.state})`)
      return
    }

    try {
      this.dispatch(name, bytes, receivedAt)
    } catch (err) {
      if (!isWatchmeshError(err, 'BAD_MESSAGE')) throw err
      this.fail(err.message)
    }
  }

  private dispatch (name: MessageName, bytes: Uint8Array, receivedAt: number): void {
    const limits = this.owner.limits
    switch (name) {
      case 'confirm':
        this.onConfirm(decodeConfirm(bytes))
        return
      case 'hello': {
        const hello = decodeHello(bytes)
        this.name = sanitizeName(hello.name, shortId(this.peerId))
        this.remoteSession = Buffer.from(hello.session).toString('hex')
        this.state = 'ready'
        this.wasReady = true
        this.clearAdmissionTimer()
        this.conn.setTimeout(limits.deadPeerMs)
        this.owner.onReady(this)
        // At once, so the peer's first scheduled ping can already echo it: a first clock sample
        // within a ping interval of meeting.
        this.ping()
        return
      }
      case 'ping':
        this.onPing(decodePing(bytes), receivedAt)
        return
      case 'direct':
        this.owner.onDirect(this, decodeDirect(bytes, limits.maxPayloadBytes))
        return
      case 'broadcast':
        this.owner.onBroadcast(this, decodeBroadcast(bytes, limits.maxPayloadBytes, MAX_RELAY_HOPS))
        return
      case 'bye':
        decodeBye(bytes)
        this.byeReceived = true
        this.destroy()
        return
      case 'full': {
        const { maxPeers } = decodeFull(bytes)
        this.log('warn', `cannot join through this peer: its room is full (${maxPeers} peers)`)
        this.destroy()
        return
      }
      case 'neighbours': {
        const { peers, sessions } = decodeNeighbours(bytes)
        const hexes = (list: Uint8Array[]): string[] => list.map(p => Buffer.from(p).toString('hex'))
        this.owner.onNeighbours(this, hexes(peers), sessions === undefined ? null : hexes(sessions))
      }
    }
  }

  private onPing (ping: Ping, t4: number): void {
    this.toEcho = { tx: ping.tx, rx: t4 }
    this.sampleFrom(ping, t4)
    if (this.fastStartPingsLeft > 0 && this.state === 'ready') {
      this.fastStartPingsLeft--
      this.ping()
    }
  }

  private sampleFrom (ping: Ping, t4: number): void {
    if (ping.echo === null) return
    const i = this.outstandingPings.indexOf(ping.echo.tx)
    if (i === -1) {
      this.log('debug', 'echo of a ping we did not send (or already matched); ignored')
      return
    }
    // Older pings still outstanding were lost or overtaken: forget them too.
    this.outstandingPings.splice(0, i + 1)
    const sample = { t1: ping.echo.tx, t2: ping.echo.rx, t3: ping.tx, t4 }
    this.rttMs = Math.max(0, (sample.t4 - sample.t1) - (sample.t3 - sample.t2))
    this.owner.onClockSample(this, sample)
  }

  private onConnectionClosed (): void {
    this.state = 'closed'
    this.clearAdmissionTimer()
    this.owner.onClosed(this, this.byeReceived ? 'left' : 'lost', this.wasReady)
  }

  private write (name: MessageName, bytes: Uint8Array): void {
    if (this.channel === null || this.conn.destroyed) return
    this.send.get(name)?.send(bytes)
  }

  /** Members only, and only what fits one UDP packet; best effort (nothing says whether it arrived). */
  private sendDatagram (kind: number, bytes: Uint8Array): void {
    if (this.state !== 'ready' || this.conn.destroyed || bytes.byteLength + 1 > MAX_DATAGRAM_BYTES) return
    const datagram = new Uint8Array(bytes.byteLength + 1)
    datagram[0] = kind
    datagram.set(bytes, 1)
    this.conn.trySend(datagram)
    this.datagramsSent++
  }

  /**
   * A datagram from the peer: encrypted and authenticated by this connection's keys (secret-stream),
   * so only the peer could have sent it. Taken from members only (before admission the stream
   * carries the proof, and a datagram says nothing), then judged as the same frame on the stream
   * would be: the same budgets, the same checks. A kind this version does not know (a later
   * version's) is ignored.
   */
  private onDatagram (datagram: Uint8Array): void {
    this.datagramsReceived++
    if (this.state !== 'ready' || datagram.byteLength < 1) return
    if (datagram[0] === DATAGRAM_BROADCAST) this.onFrame('broadcast', datagram.subarray(1))
  }

  /**
   * The peer itself sent a payload the layers above found invalid: after a small budget, that
   * is grounds for dropping it. True when it was dropped.
   */
  invalidPayload (why: string): boolean {
    if (this.invalid.take(this.owner.now())) return false
    this.fail(`sent too many invalid messages (latest: ${why})`)
    return true
  }

  /** Drops a stranger's connection; the owner decides whether it is worth a line of its own. */
  refuse (kind: string, detail: string, level: 'warn' | 'debug'): void {
    if (this.state === 'closed') return
    this.owner.onRefused(this, kind, `${shortId(this.peerId)}: ${detail}`, level)
    this.destroy()
  }

  private fail (why: string): void {
    this.log('warn', `dropping the connection: ${why}`)
    this.destroy()
  }

  private clearAdmissionTimer (): void {
    if (this.admissionTimer !== null) clearTimeout(this.admissionTimer)
    this.admissionTimer = null
    this.clearProofTimer()
  }

  private clearProofTimer (): void {
    if (this.proofTimer !== null) clearTimeout(this.proofTimer)
    this.proofTimer = null
  }

  private log (level: 'info' | 'warn' | 'debug', msg: string): void {
    this.owner.log(level, `${shortId(this.peerId)}: ${msg}`, this.peerId)
  }
}

/** A broadcast frame starts with its author's key: is that the sender's own? (False when short.) */
function authoredBy (frame: Uint8Array, key: Uint8Array): boolean {
  if (frame.byteLength < key.byteLength) return true // malformed: the decoder will say so, and it is its own
  for (let i = 0; i < key.byteLength; i++) if (frame[i] !== key[i]) return false
  return true
}

function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
