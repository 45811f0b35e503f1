/**
 * The contract of the mesh layer: peers in, messages out. Payloads are opaque bytes (the sync
 * layer's codec); the mesh adds admission, framing, signing, relaying and liveness.
 *
 * Times are on this process's monotonic clock (`processNow()` in clock.ts), in ms.
 */
import type { EventEmitter } from 'node:events'

/** What a passphrase becomes (keys.ts). The topic is public on the DHT; the auth key never leaves. */
export interface RoomKeys {
  /** Version of the derivation (salt, Argon2id parameters, labels); part of the wire version. */
  version: number
  /** The topic's bucket (BUCKET_BITS bits of the passphrase's hash): shared by many rooms. */
  bucket: number
  /** 32 bytes: the Hyperswarm topic, a function of the bucket alone (public, shared by many rooms). */
  topic: Uint8Array
  /** 32 bytes, secret: the password of each connection's PAKE (pake.ts). */
  authKey: Uint8Array
  /** 32 bytes, secret: this room's identity, bound into every signature (rooms of one bucket differ here). */
  roomId: Uint8Array
}

/** Every bound the mesh enforces; defaults and their reasons are in limits.ts. */
export interface MeshLimits {
  /** Admitted direct peers at most; further peers are told the room is full. */
  maxPeers: number
  /** Largest payload of `send`/`broadcast`, bytes. */
  maxPayloadBytes: number
  /** Sustained frames per second one peer may send us before it is dropped. */
  maxFramesPerSec: number
  /** Frames one peer may send in a burst above the sustained rate. */
  frameBurst: number
  /** Direct peers a received broadcast is relayed to at most. */
  maxRelayFanout: number
  /** Broadcasts of one author delivered and relayed per second at most (the rest are dropped). */
  maxBroadcastsPerAuthorPerSec: number
  /** Broadcasts of one author in a burst above the sustained rate. */
  authorBurst: number
  /** Keepalive ping period (each ping is also a clock probe), ms. */
  pingIntervalMs: number
  /** A connection that reads nothing this long is dead, ms. */
  deadPeerMs: number
  /** A new connection must prove the passphrase and say hello within this, ms. */
  admissionTimeoutMs: number
  /** A new connection must send its proof (its channel open) within this, ms. */
  proofTimeoutMs: number
}

/** Hex of the peer's 32-byte swarm public key. */
export type PeerId = string

export interface PeerInfo {
  id: PeerId
  /** Display name the peer announced (bounded, sanitised). */
  name: string
  /** Latest keepalive round trip, ms; null before the first one. */
  rttMs: number | null
  /** Connected directly (false: known only through relayed messages). */
  direct: boolean
}

export interface MeshEvents {
  /** A peer passed admission (proved the passphrase) and is ready for messages. */
  'peer-up': [PeerInfo]
  /** A direct peer is gone: `left` after its goodbye, `lost` on timeout or error. */
  'peer-down': [PeerId, 'left' | 'lost']
  /**
   * A payload for us. `from` is the direct neighbour that delivered it; `author` is the key that
   * signed it (equal to `from` for direct sends; for broadcasts it was verified).
   */
  'message': [{ from: PeerId, author: PeerId, payload: Uint8Array, broadcast: boolean }]
  /**
   * A four-timestamp clock exchange completed with a direct peer (the keepalive ping doubles as
   * the clock probe). t1/t4 ours, t2/t3 the peer's clock.
   */
  'clock-sample': [{ peer: PeerId, t1: number, t2: number, t3: number, t4: number }]
  /** Something worth a log line (rejected peer, garbage dropped, newer protocol, room full...). */
  'log': [{ level: 'info' | 'warn' | 'debug', msg: string, peer?: PeerId }]
}

export interface Mesh extends EventEmitter<MeshEvents> {
  readonly id: PeerId
  /** Joins the topic and starts accepting peers. Resolves once announced on the DHT. */
  start (): Promise<void>
  /** Says goodbye to every peer, leaves the topic, closes the swarm. Idempotent. */
  close (): Promise<void>
  peers (): PeerInfo[]
  /** To one direct peer. Returns false when that peer is not connected. */
  send (to: PeerId, payload: Uint8Array): boolean
  /** Signed by us, flooded to every peer (relayed with dedup so a partial mesh still delivers). */
  broadcast (payload: Uint8Array): void
  /**
   * A delivered payload was invalid (undecodable, or against the sync rules). The author is
   * blamed, not the relay: a direct author is dropped after a small budget; a relayed one is
   * no longer delivered or relayed for a while.
   */
  reportInvalid (from: PeerId, author: PeerId, why: string): void
}
