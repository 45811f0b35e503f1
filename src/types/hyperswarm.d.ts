/**
 * Hand-written declarations for the parts of hyperswarm 4.17 that watchmesh uses.
 */
declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events'
  import type HyperDHT from 'hyperdht'

  namespace Hyperswarm {
    interface Options {
      keyPair?: HyperDHT.KeyPair
      seed?: Uint8Array
      /** Pass our own DHT: hyperswarm would bind its own to 0.0.0.0 (docs/facts.md). */
      dht?: HyperDHT
      maxPeers?: number
      /** Return true to refuse a peer; hyperswarm then bans that key for the swarm's life. */
      firewall?: (remotePublicKey: Uint8Array, payload: unknown) => boolean
    }

    interface PeerInfo {
      readonly publicKey: Uint8Array
      readonly client: boolean
      readonly banned: boolean
    }

    interface PeerDiscoverySession {
      /** Resolves once the topic is announced and the first lookup is done. */
      flushed (): Promise<boolean>
      /** Announces and looks up again (the join race, docs/facts.md). */
      refresh (opts?: { server?: boolean, client?: boolean }): Promise<void>
      destroy (): Promise<void>
    }
  }

  class Hyperswarm extends EventEmitter {
    constructor (opts?: Hyperswarm.Options)
    readonly keyPair: HyperDHT.KeyPair
    readonly dht: HyperDHT
    readonly connections: Set<HyperDHT.SecretStream>
    readonly destroyed: boolean
    join (topic: Uint8Array, opts?: { server?: boolean, client?: boolean }): Hyperswarm.PeerDiscoverySession
    leave (topic: Uint8Array): Promise<void>
    flush (): Promise<boolean>
    destroy (opts?: { force?: boolean }): Promise<void>

    on (event: 'connection', listener: (conn: HyperDHT.SecretStream, info: Hyperswarm.PeerInfo) => void): this
    on (event: 'update', listener: () => void): this
    on (event: 'ban', listener: (info: Hyperswarm.PeerInfo, err: Error) => void): this
    on (event: 'error', listener: (err: Error) => void): this
  }

  export = Hyperswarm
}
