/**
 * Passphrase -> room keys (protocol doc: "Key derivation").
 *
 *   master  = Argon2id(NFC(passphrase), salt = "watchmesh-kdf-v2", ops = 3, mem = 128 MiB)
 *   bucket  = first 16 bits of BLAKE2b-256(key = master, "watchmesh/bucket/v2")
 *   topic   = BLAKE2b-256("watchmesh/topic/v2" || bucket (2 bytes, big-endian))
 *   authKey = BLAKE2b-256(key = master, "watchmesh/auth/v2")     the PAKE's password (pake.ts)
 *   roomId  = BLAKE2b-256(key = master, "watchmesh/room/v2")     binds signatures to this room
 *
 * The topic is public on the DHT and is one of only 2^16 values: many rooms share each one, and a
 * guessed passphrase can only be checked against it as "same bucket or not", which a 2^-16
 * fraction of wrong guesses also passes. Telling the right passphrase from a wrong one in the
 * bucket takes a PAKE run with a member of the room (pake.ts): one online guess per connection.
 * Rooms in one bucket meet on the DHT and part after their PAKE fails; what tells them apart
 * once admitted is `roomId`, which only members know.
 */
import sodium from 'sodium-universal'
import { WatchmeshError } from '../errors.js'
import type { RoomKeys } from './types.js'

/** Bumped whenever the salt, the parameters or the labels change: old and new rooms never meet. */
export const KDF_VERSION = 2

/** Fixed, public salt: the passphrase itself is the room's only secret (16 bytes = SALTBYTES). */
const SALT = new TextEncoder().encode(`watchmesh-kdf-v${KDF_VERSION}`)

/**
 * Argon2id cost: 3 passes over 128 MiB took ~160 ms here (2 cores). That is unnoticeable once per
 * `join` yet makes every guess cost the same 128 MiB, also the ones an attacker sorts into buckets
 * before trying them online. libsodium's MODERATE (256 MiB) took ~580 ms and would spike 32 daemons
 * started at once on one machine to 8 GiB.
 */
const ARGON2_OPS = 3
const ARGON2_MEM_BYTES = 128 * 1024 * 1024

/**
 * Bits of the passphrase's hash the DHT topic carries (docs/protocol.md, "Why 16 bits"): what an
 * observer learns of the passphrase (16 of a generated passphrase's ~90 bits), against how many
 * rooms share a topic (a DHT lookup returns 20 announcements per node, so a topic must stay far
 * below 20 nodes: 65,536 topics hold ~200,000 viewers at one room per topic on average).
 */
export const BUCKET_BITS = 16
export const BUCKET_COUNT = 2 ** BUCKET_BITS

/** A room name, not a document; keeps the KDF input bounded. */
const MAX_PASSPHRASE_BYTES = 1024

const KEY_BYTES = 32

export function deriveRoomKeys (passphrase: string): RoomKeys {
  const passwd = kdfInput(passphrase)
  const master = new Uint8Array(KEY_BYTES)
  sodium.crypto_pwhash(master, passwd, SALT, ARGON2_OPS, ARGON2_MEM_BYTES, sodium.crypto_pwhash_ALG_ARGON2ID13)
  return roomKeysFromMaster(master)
}

/**
 * The same keys, the same cost, computed on libuv's thread pool: a starting daemon loads its
 * modules, reaches its player and bootstraps the DHT meanwhile instead of waiting for the KDF.
 * Rejects (not throws) on a bad passphrase.
 */
export async function deriveRoomKeysAsync (passphrase: string): Promise<RoomKeys> {
  const passwd = kdfInput(passphrase)
  const master = new Uint8Array(KEY_BYTES)
  await sodium.crypto_pwhash_async(master, passwd, SALT, ARGON2_OPS, ARGON2_MEM_BYTES, sodium.crypto_pwhash_ALG_ARGON2ID13)
  return roomKeysFromMaster(master)
}

/** The passphrase as the KDF takes it (NFC, UTF-8), or BAD_PASSPHRASE. */
function kdfInput (passphrase: string): Uint8Array {
  const normalized = passphrase.normalize('NFC')
  if (normalized.trim().length === 0) throw WatchmeshError.badPassphrase('the passphrase must not be empty')
  const passwd = new TextEncoder().encode(normalized)
  if (passwd.byteLength > MAX_PASSPHRASE_BYTES) {
    throw WatchmeshError.badPassphrase(`the passphrase is longer than ${MAX_PASSPHRASE_BYTES} bytes`)
  }
  return passwd
}

/** Everything after the slow KDF: cheap, so tests and the offline-attacker test can run it often. */
export function roomKeysFromMaster (master: Uint8Array): RoomKeys {
  const bucket = bucketOf(master)
  return {
    version: KDF_VERSION,
    bucket,
    topic: bucketTopic(bucket),
    authKey: keyedHash(master, `watchmesh/auth/v${KDF_VERSION}`),
    roomId: keyedHash(master, `watchmesh/room/v${KDF_VERSION}`)
  }
}

export function bucketOf (master: Uint8Array): number {
  const h = keyedHash(master, `watchmesh/bucket/v${KDF_VERSION}`)
  return ((h[0] as number) << 8 | (h[1] as number)) >>> (16 - BUCKET_BITS)
}

/** The DHT topic of a bucket: a function of the bucket alone, which anyone can compute for all of them. */
export function bucketTopic (bucket: number): Uint8Array {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= BUCKET_COUNT) throw new RangeError(`bucket ${bucket} out of range`)
  const label = new TextEncoder().encode(`watchmesh/topic/v${KDF_VERSION}`)
  const input = new Uint8Array(label.byteLength + 2)
  input.set(label, 0)
  input[label.byteLength] = bucket >>> 8
  input[label.byteLength + 1] = bucket & 0xff
  const out = new Uint8Array(KEY_BYTES)
  sodium.crypto_generichash(out, input)
  return out
}

function keyedHash (key: Uint8Array, label: string): Uint8Array {
  const out = new Uint8Array(KEY_BYTES)
  sodium.crypto_generichash(out, new TextEncoder().encode(label), key)
  return out
}

/**
 * The node's keypair seed in one room, from the seed kept on disk: stable across restarts (the
 * same viewer is recognised at once), different in every room, so a key seen in one room neither
 * links the viewer to another room nor lets a stranger dial it there.
 */
export function nodeSeedForRoom (seed: Uint8Array, keys: RoomKeys): Uint8Array {
  const out = new Uint8Array(KEY_BYTES)
  const label = new TextEncoder().encode(`watchmesh/node-seed/v${keys.version}`)
  const input = new Uint8Array(label.byteLength + keys.roomId.byteLength)
  input.set(label, 0)
  input.set(keys.roomId, label.byteLength)
  sodium.crypto_generichash(out, input, seed)
  return out
}
