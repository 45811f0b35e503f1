/**
 * A hand-driven watchmesh peer for hostile tests: it dials a member directly over a bare DHT
 * node and lets the test choose every byte (handshake, PAKE share and confirmation, frames, garbage).
 */
import * as c from 'compact-encoding'
import DHT from 'hyperdht'
import Protomux from 'protomux'
import { PakeExchange } from '../../src/mesh/pake.js'
import { MessageType, MIN_PROTOCOL_VERSION, PROTOCOL, PROTOCOL_VERSION, decodeHandshake, encodeConfirm, encodeHandshake, encodeHello } from '../../src/mesh/wire.js'
import type { MessageName } from '../../src/mesh/wire.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { waitFor } from '../fixtures/wait.js'

export class RawPeer {
  readonly keyPair: DHT.KeyPair
  readonly id: string
  private readonly dht: DHT
  private readonly links: RawLink[] = []

  constructor (testnet: LocalTestnet, seed?: Uint8Array) {
    this.keyPair = DHT.keyPair(seed)
    this.id = Buffer.from(this.keyPair.publicKey).toString('hex')
    this.dht = new DHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
    this.dht.on('error', () => {})
  }

  /** Dials `peerId`; the link is open (Noise done) but no channel frame is sent yet. */
  async connect (peerId: string): Promise<RawLink> {
    const conn = this.dht.connect(Buffer.from(peerId, 'hex'), { keyPair: this.keyPair })
    conn.on('error', () => {})
    const link = new RawLink(conn)
    this.links.push(link)
    await new Promise<void>((resolve, reject) => {
      conn.once('open', () => resolve())
      conn.once('close', () => reject(new Error('connection closed before it opened')))
    })
    return link
  }

  async close (): Promise<void> {
    for (const link of this.links) link.conn.destroy()
    await this.dht.destroy()
  }
}

export class RawLink {
  /** Frames the member sent us, in order. */
  readonly received: Array<{ name: MessageName, bytes: Uint8Array }> = []
  /** Datagrams the member sent us beside the stream (decrypted), in the order they came. */
  readonly datagrams: Uint8Array[] = []
  remoteHandshake: Uint8Array | null = null
  /** The member's channel-open handshake, read off the wire before we open anything ourselves. */
  sniffedHandshake: Uint8Array | null = null
  closed = false
  private readonly mux: Protomux
  private readonly messages: Array<Protomux.Message<Uint8Array>> = []
  private opened: () => void = () => {}
  private readonly openCalled = new Promise<void>(resolve => { this.opened = resolve })

  constructor (readonly conn: DHT.SecretStream) {
    conn.on('close', () => { this.closed = true; this.opened() })
    conn.on('data', (chunk: Uint8Array) => this.sniff(chunk))
    conn.on('message', (datagram: Uint8Array) => this.datagrams.push(datagram))
    this.mux = Protomux.from(conn)
    // protomux refuses a remote open that finds no channel of ours, unless a pairing hook holds it
    // until we make one: so a test may read the member's open (its share) before opening ours.
    this.mux.pair({ protocol: PROTOCOL }, async () => await this.openCalled)
  }

  /** A protomux open frame: 0 (control), 1 (open), local id, protocol, optional id, handshake. */
  private sniff (chunk: Uint8Array): void {
    if (this.sniffedHandshake !== null) return
    try {
      const state = { start: 0, end: chunk.byteLength, buffer: chunk }
      if (c.uint.decode(state) !== 0 || c.uint.decode(state) !== 1) return
      c.uint.decode(state)
      if (c.string.decode(state) !== PROTOCOL) return
      c.optionalBuffer.decode(state)
      this.sniffedHandshake = chunk.slice(state.start)
    } catch {
      // Not an open frame.
    }
  }

  /** Our side of this very connection's PAKE under `authKey` (its share goes in our channel open). */
  pake (authKey: Uint8Array): PakeExchange {
    return new PakeExchange(authKey, this.conn.handshakeHash, this.conn.isInitiator)
  }

  /**
   * Opens with our share under `authKey` and, once the member's share is in, sends our confirmation.
   * Returns the member's confirmation frame when it sent one (null: it closed first).
   */
  async runPake (authKey: Uint8Array, maxVersion = PROTOCOL_VERSION): Promise<Uint8Array | null> {
    const pake = this.pake(authKey)
    this.openWith(encodeHandshake({ minVersion: MIN_PROTOCOL_VERSION, maxVersion, share: pake.share }))
    const theirs = await waitFor('the member\'s channel open', () => this.remoteHandshake ?? (this.closed ? null : undefined), { timeoutMs: 5000 })
    if (theirs === null) return null
    const share = decodeHandshake(theirs).share
    const confirm = share === null ? null : pake.respond(share)
    if (confirm === null) throw new Error('the member\'s share is not a valid point')
    this.send('confirm', encodeConfirm(confirm))
    const frame = await waitFor('the member\'s confirmation', () => this.received.find(f => f.name === 'confirm') ?? (this.closed ? null : undefined), { timeoutMs: 5000 })
    return frame === null ? null : frame.bytes
  }

  /** Makes our channel (pairing with the member's open when it came first) and opens it. */
  openWith (handshake: Uint8Array): void {
    const channel = this.mux.createChannel<Uint8Array>({
      protocol: PROTOCOL,
      handshake: c.raw,
      onopen: handshake => { this.remoteHandshake = handshake }
    })
    if (channel === null) throw new Error('could not create the channel')
    for (const name of Object.keys(MessageType) as MessageName[]) {
      this.messages.push(channel.addMessage<Uint8Array>({ encoding: c.raw, onmessage: bytes => this.received.push({ name, bytes }) }))
    }
    channel.open(handshake)
    this.opened()
  }

  /** Runs the PAKE with the right key and says hello: the member admits us. */
  async admit (authKey: Uint8Array, name = 'raw', session = new Uint8Array(8).fill(42)): Promise<void> {
    await this.runPake(authKey)
    this.send('hello', encodeHello({ name, session }))
    await waitFor('the member\'s hello', () => this.received.some(f => f.name === 'hello') || this.closed, { timeoutMs: 5000 })
    if (this.closed) throw new Error('the member closed the link instead of admitting us')
  }

  /** A frame of a known type with any bytes. */
  send (name: MessageName, bytes: Uint8Array): void {
    this.messages[MessageType[name]]?.send(bytes)
  }

  /** Bytes straight onto the encrypted stream, below protomux. */
  writeRaw (bytes: Uint8Array): void {
    if (!this.conn.destroyed) this.conn.write(bytes)
  }

  async waitClosed (what: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(what, () => this.closed, { timeoutMs })
  }
}
