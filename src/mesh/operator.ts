/**
 * Managed rooms: only operators control playback. Being an operator takes a second secret that
 * viewers do not have (protocol doc: "Managed rooms").
 *
 *   operator key pair = Ed25519 from seed BLAKE2b-256("watchmesh/operator/v1" || NFC(operator secret))
 *   commitment        = BLAKE2b-128("watchmesh/operator-commitment/v1" || operator public key)
 *   viewer passphrase = <words> ".op." base32(commitment)
 *
 * The viewers' passphrase carries the commitment, so it is part of the room's keys: a
 * member cannot drop it (that is another room) or swap it (another room again). A playback state is
 * accepted only inside an operator envelope: the operator public key, whose commitment must be the
 * room's, and its signature over the room's secret id and the encoded state. A member without the
 * operator secret can therefore neither control playback nor claim or lift the lock; finding
 * another key pair with the same 128-bit commitment is a second-preimage search of 2^128.
 */
import sodium from 'sodium-universal'
import { WatchmeshError } from '../errors.js'

export const OPERATOR_KEY_BYTES = 32
export const OPERATOR_SIGNATURE_BYTES = 64
/** 128 bits: a second preimage is out of reach; 26 base32 characters in the passphrase. */
const COMMITMENT_BYTES = 16
const SEED_BYTES = 32
const SECRET_KEY_BYTES = 64
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'
const MARK = '.op.'
const COMMITMENT_CHARS = Math.ceil(COMMITMENT_BYTES * 8 / 5)
/** `.op.` and the commitment, at the end of the viewers' passphrase. */
const MANAGED = new RegExp(`\\.op\\.([a-z2-7]{${COMMITMENT_CHARS}})$`)

export interface OperatorKeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

const utf8 = new TextEncoder()

/** The commitment a managed room's passphrase carries; null for an ordinary room. */
export function managedCommitment (passphrase: string): string | null {
  return MANAGED.exec(passphrase.normalize('NFC').trim())?.[1] ?? null
}

export function operatorKeyPair (secret: string): OperatorKeyPair {
  const normalized = secret.normalize('NFC').trim()
  if (normalized.length === 0) throw WatchmeshError.badPassphrase('the operator secret must not be empty')
  const seed = new Uint8Array(SEED_BYTES)
  sodium.crypto_generichash(seed, concat(utf8.encode('watchmesh/operator/v1'), utf8.encode(normalized)))
  const keys = { publicKey: new Uint8Array(OPERATOR_KEY_BYTES), secretKey: new Uint8Array(SECRET_KEY_BYTES) }
  sodium.crypto_sign_seed_keypair(keys.publicKey, keys.secretKey, seed)
  return keys
}

export function commitmentOf (operatorPublicKey: Uint8Array): string {
  const digest = new Uint8Array(COMMITMENT_BYTES)
  sodium.crypto_generichash(digest, concat(utf8.encode('watchmesh/operator-commitment/v1'), operatorPublicKey))
  return base32(digest)
}

/** The passphrase to give viewers of a room run by the holders of `operatorSecret`. */
export function managedPassphrase (words: string, operatorSecret: string): string {
  return `${words}${MARK}${commitmentOf(operatorKeyPair(operatorSecret).publicKey)}`
}

/** What an operator signs: a domain label, the room's secret id (no replay into another room, not even one sharing the topic), the encoded state. */
function signedBytes (roomId: Uint8Array, inner: Uint8Array): Uint8Array {
  return concat(utf8.encode('watchmesh/operator-state/v2'), roomId, inner)
}

export function signAsOperator (roomId: Uint8Array, inner: Uint8Array, keys: OperatorKeyPair): Uint8Array {
  const signature = new Uint8Array(OPERATOR_SIGNATURE_BYTES)
  sodium.crypto_sign_detached(signature, signedBytes(roomId, inner), keys.secretKey)
  return signature
}

/** Why an envelope is not the room's operator's, or null when it is. */
export function operatorEnvelopeFault (roomId: Uint8Array, commitment: string, env: { operatorKey: Uint8Array, signature: Uint8Array, inner: Uint8Array }): string | null {
  if (commitmentOf(env.operatorKey) !== commitment) return 'signed by a key that is not this room\'s operator key'
  if (!sodium.crypto_sign_verify_detached(env.signature, signedBytes(roomId, env.inner), env.operatorKey)) return 'bad operator signature'
  return null
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function base32 (bytes: Uint8Array): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}
