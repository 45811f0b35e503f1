/**
 * Proving the passphrase without exposing it to a guesser: CPace (a balanced PAKE) over the
 * prime-order subgroup of edwards25519, bound to the Noise handshake hash of this connection.
 *
 *   sid     = the connection's handshake hash (equal at both ends, unique to the connection)
 *   g       = Elligator2(BLAKE2b-256(key = authKey, "watchmesh/cpace/v2" || sid)), cofactor cleared
 *   y       = a fresh random scalar; share Y = y * g             (sent in the channel open)
 *   K       = y * Y_remote, after checking Y_remote is a point of the main subgroup and not the identity
 *   ISK     = BLAKE2b-256(key = K, "watchmesh/cpace-isk/v2" || sid || Y_initiator || Y_responder)
 *   confirm = BLAKE2b-256(key = ISK, "watchmesh/confirm/v2" || role (1 = initiator, 0 = responder))
 *
 * Why this and not a MAC keyed by the passphrase's hash: whoever runs the exchange with a guess
 * learns only whether that one guess was right (CPace's guarantee: the shares are uniformly random
 * points whatever the password, and K for any other password needs a discrete logarithm between
 * two generators). A failed run's transcript is worthless offline, even to someone who later
 * guesses the right passphrase. The role byte keeps a reflected confirmation from passing, and
 * `sid` keeps a recorded one from passing on any other connection. Pure: no I/O, no clock.
 */
import sodium from 'sodium-universal'
import { CONFIRM_BYTES, SHARE_BYTES } from './wire.js'

const HASH_BYTES = 32

const GENERATOR_LABEL = 'watchmesh/cpace/v2'
const ISK_LABEL = 'watchmesh/cpace-isk/v2'
const CONFIRM_LABEL = 'watchmesh/confirm/v2'

export class PakeExchange {
  /** Our share, for the channel open. */
  readonly share: Uint8Array
  private readonly scalar: Uint8Array
  private expectedConfirm: Uint8Array | null = null

  constructor (authKey: Uint8Array, private readonly sid: Uint8Array, private readonly isInitiator: boolean) {
    const generator = pakeGenerator(authKey, sid)
    this.scalar = new Uint8Array(sodium.crypto_core_ed25519_SCALARBYTES)
    sodium.crypto_core_ed25519_scalar_random(this.scalar)
    this.share = new Uint8Array(SHARE_BYTES)
    sodium.crypto_scalarmult_ed25519_noclamp(this.share, this.scalar, generator)
  }

  /**
   * Takes the remote share; returns our confirmation to send, or null when the share is not a
   * point of the group (not something an honest peer sends: malformed, small order, the identity).
   */
  respond (remoteShare: Uint8Array): Uint8Array | null {
    if (remoteShare.byteLength !== SHARE_BYTES || !sodium.crypto_core_ed25519_is_valid_point(remoteShare)) return null
    const k = new Uint8Array(SHARE_BYTES)
    try {
      sodium.crypto_scalarmult_ed25519_noclamp(k, this.scalar, remoteShare)
    } catch {
      return null // the product is the identity: not a share of any password
    }
    const [first, second] = this.isInitiator ? [this.share, remoteShare] : [remoteShare, this.share]
    const isk = pakeSessionKey(k, this.sid, first, second)
    this.expectedConfirm = confirmation(isk, !this.isInitiator)
    return confirmation(isk, this.isInitiator)
  }

  /** True when the remote confirmation shows it derived the same key: it knows the passphrase. */
  verify (remoteConfirm: Uint8Array): boolean {
    if (this.expectedConfirm === null || remoteConfirm.byteLength !== CONFIRM_BYTES) return false
    return sodium.sodium_memcmp(this.expectedConfirm, remoteConfirm)
  }
}

/** The password-dependent generator of one connection (exported for the offline-attacker test). */
export function pakeGenerator (authKey: Uint8Array, sid: Uint8Array): Uint8Array {
  const uniform = hash(authKey, GENERATOR_LABEL, sid)
  const point = new Uint8Array(SHARE_BYTES)
  sodium.crypto_core_ed25519_from_uniform(point, uniform)
  return point
}

/** ISK from the shared point and the transcript, shares in role order (exported for the offline-attacker test). */
export function pakeSessionKey (k: Uint8Array, sid: Uint8Array, initiatorShare: Uint8Array, responderShare: Uint8Array): Uint8Array {
  return hash(k, ISK_LABEL, sid, initiatorShare, responderShare)
}

/** What a side sends to show it holds the key: differs by role, so a reflected one fails. */
export function confirmation (isk: Uint8Array, initiator: boolean): Uint8Array {
  return hash(isk, CONFIRM_LABEL, Uint8Array.of(initiator ? 1 : 0))
}

function hash (key: Uint8Array, label: string, ...parts: Uint8Array[]): Uint8Array {
  const labelBytes = new TextEncoder().encode(label)
  const input = new Uint8Array(labelBytes.byteLength + parts.reduce((n, p) => n + p.byteLength, 0))
  input.set(labelBytes, 0)
  let at = labelBytes.byteLength
  for (const part of parts) {
    input.set(part, at)
    at += part.byteLength
  }
  const out = new Uint8Array(HASH_BYTES)
  sodium.crypto_generichash(out, input, key)
  return out
}
