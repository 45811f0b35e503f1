/**
 * The admission proof: a MAC, keyed by the room's auth key, over the Noise handshake hash of this
 * very connection (channel binding). The hash is unique per connection, so a proof recorded on one
 * connection is worthless on any other; the initiator flag makes the two sides' proofs differ, so
 * a peer cannot reflect ours back at us.
 *
 *   proof = BLAKE2b-256(key = authKey, "watchmesh/proof/v1" || isInitiator (1 byte) || handshakeHash)
 */
import sodium from 'sodium-universal'
import { PROOF_BYTES } from './wire.js'

const PROOF_LABEL = new TextEncoder().encode('watchmesh/proof/v1')

export function admissionProof (authKey: Uint8Array, handshakeHash: Uint8Array, isInitiator: boolean): Uint8Array {
  const input = new Uint8Array(PROOF_LABEL.byteLength + 1 + handshakeHash.byteLength)
  input.set(PROOF_LABEL, 0)
  input[PROOF_LABEL.byteLength] = isInitiator ? 1 : 0
  input.set(handshakeHash, PROOF_LABEL.byteLength + 1)
  const out = new Uint8Array(PROOF_BYTES)
  sodium.crypto_generichash(out, input, authKey)
  return out
}

/** Checks the proof the *remote* side sent: its initiator flag is the opposite of ours. */
export function verifyAdmissionProof (authKey: Uint8Array, handshakeHash: Uint8Array, localIsInitiator: boolean, proof: Uint8Array): boolean {
  if (proof.byteLength !== PROOF_BYTES) return false
  const expected = admissionProof(authKey, handshakeHash, !localIsInitiator)
  return sodium.sodium_memcmp(expected, proof)
}
