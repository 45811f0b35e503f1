/**
 * Hand-written declarations for the parts of hyperdht 6.32 that watchmesh uses.
 * (No types ship with the package; keep this to what the code calls.)
 */
declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'

  namespace HyperDHT {
    interface KeyPair {
      publicKey: Uint8Array
      secretKey: Uint8Array
    }

    interface Address {
      host: string
      port: number
    }

    interface Options {
      /** `[{ host, port }]` or `'host:port'` strings; undefined = the public bootstrap nodes. */
      bootstrap?: Array<Address | string>
      /** Address to bind the UDP socket to (default 0.0.0.0). */
      host?: string
      port?: number
      ephemeral?: boolean
      firewalled?: boolean
    }

    /** What hyperswarm passes to connect() besides our keypair. */
    interface ConnectOptions {
      keyPair?: KeyPair
      relayAddresses?: Address[] | null
      relayThrough?: unknown
    }

    /**
     * The encrypted, framed stream of one connection (@hyperswarm/secret-stream, a streamx
     * Duplex). Each write arrives as one chunk on the other side.
     */
    interface SecretStream extends EventEmitter {
      readonly isInitiator: boolean
      readonly publicKey: Uint8Array
      readonly remotePublicKey: Uint8Array
      /** Noise handshake hash: equal on both ends, unique to this connection. Set once open. */
      readonly handshakeHash: Uint8Array
      /** Encrypted bytes on the wire, both directions, since the stream opened. */
      readonly rawBytesRead: number
      readonly rawBytesWritten: number
      /** The UDX stream underneath: its counters include UDX headers, retransmits and acks. */
      readonly rawStream: { readonly bytesTransmitted?: number, readonly packetsTransmitted?: number, readonly remoteHost?: string | null } | null
      readonly destroyed: boolean
      readonly destroying: boolean
      userData: unknown
      /** Destroys the stream when nothing has been read for `ms` (0 disables). */
      setTimeout (ms: number): void
      setKeepAlive (ms: number): void
      write (data: Uint8Array): boolean
      /**
       * Sends `data` as one encrypted UDP datagram beside the stream (unreliable, unordered; dropped
       * when the connection underneath cannot carry datagrams). Once open; arrives as 'message'.
       */
      trySend (data: Uint8Array): void
      end (): void
      destroy (err?: Error): void
    }
  }

  class HyperDHT extends EventEmitter {
    constructor (opts?: HyperDHT.Options)
    static keyPair (seed?: Uint8Array): HyperDHT.KeyPair
    /** A first node of a network (dht-rpc): persistent, not firewalled, knowing `host` is its address. */
    static bootstrapper (port: number, host: string, opts?: HyperDHT.Options): HyperDHT
    readonly destroyed: boolean
    /** Dials the peer listening under `publicKey` (found through the DHT). */
    connect (publicKey: Uint8Array, opts?: HyperDHT.ConnectOptions): HyperDHT.SecretStream
    fullyBootstrapped (): Promise<void>
    /** The routing table's nodes (dht-rpc): empty when no DHT node could be reached. */
    toArray (): Array<{ host: string, port: number }>
    /** Queries the DHT again in the background (dht-rpc), taking in the nodes that answer. */
    refresh (): void
    address (): { host: string, port: number }
    destroy (opts?: { force?: boolean }): Promise<void>
  }

  export = HyperDHT
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'

  namespace createTestnet {
    interface Testnet {
      nodes: HyperDHT[]
      bootstrap: Array<{ host: string, port: number }>
      destroy (): Promise<void>
    }
  }

  /** Starts `size` DHT nodes bound to `host` (default 127.0.0.1); the first is the bootstrap. */
  function createTestnet (size?: number, opts?: { host?: string, port?: number }): Promise<createTestnet.Testnet>

  export = createTestnet
}
