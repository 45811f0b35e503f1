/** Broadcast frames a hostile member signs itself (with its own or with invented keys). */
import sodium from 'sodium-universal'
import type DHT from 'hyperdht'
import { broadcastSignedBytes } from '../../src/mesh/wire.js'
import type { BroadcastFrame } from '../../src/mesh/wire.js'

export function signedBroadcast (roomId: Uint8Array, author: DHT.KeyPair, seq: number, payload: Uint8Array, session: Uint8Array = new Uint8Array(8).fill(7)): BroadcastFrame {
  const unsigned = { author: author.publicKey, session, seq, payload }
  const signature = new Uint8Array(64)
  sodium.crypto_sign_detached(signature, broadcastSignedBytes(roomId, unsigned), author.secretKey)
  return { ...unsigned, hops: 0, signature }
}
