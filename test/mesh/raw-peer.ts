/**
 * A hand-driven watchmesh peer for hostile tests: it dials a member directly over a bare DHT
 * node and lets the test choose every byte (handshake, proof, frames, garbage).
 */
import * as c from 'compact-encoding'
import DHT from 'hyperdht'
import Protomux from 'protomux'
import { admissionProof } from '../../src/mesh/admission.js'
import { MessageType, MIN_PROTOCOL_VERSION, PROTOCOL, PROTOCOL_VERSION, encodeHandshake, encodeHello } from '../../src/mesh/wire.js'
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
  remoteHandshake: Uint8Array | null = null
  /** The member's channel-open handshake, read off the wire before we open anything ourselves. */
  sniffedHandshake: Uint8Array | null = null
  closed = false
  private readonly channel: Protomux.Channel<Uint8Array>
  private readonly messages: Array<Protomux.Message<Uint8Array>> = []

  constructor (readonly conn: DHT.SecretStream) {
    conn.on('close', () => { this.closed = true })
    conn.on('data', (chunk: Uint8Array) => this.sniff(chunk))
    const channel = Protomux.from(conn).createChannel<Uint8Array>({
      protocol: PROTOCOL,
      handshake: c.raw,
      onopen: handshake => { this.remoteHandshake = handshake }
    })
    if (channel === null) throw new Error('could not create the channel')
    this.channel = channel
    for (const name of Object.keys(MessageType) as MessageName[]) {
      this.messages.push(channel.addMessage<Uint8Array>({ encoding: c.raw, onmessage: bytes => this.received.push({ name, bytes }) }))
    }
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

  /** Our proof for this very connection under `authKey`. */
  proof (authKey: Uint8Array): Uint8Array {
    return admissionProof(authKey, this.conn.handshakeHash, this.conn.isInitiator)
  }

  openWith (handshake: Uint8Array): void {
    this.channel.open(handshake)
  }

  /** Opens with a valid proof and says hello: the member admits us. */
  async admit (authKey: Uint8Array, name = 'raw', session = new Uint8Array(8).fill(42)): Promise<void> {
    this.openWith(encodeHandshake({ minVersion: MIN_PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION, proof: this.proof(authKey) }))
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
