/**
 * Passphrase -> room keys (protocol doc: "Key derivation").
 *
 *   master  = Argon2id(NFC(passphrase), salt = "watchmesh-kdf-v1", ops = 3, mem = 128 MiB)
 *   topic   = BLAKE2b-256(key = master, "watchmesh/topic/v1")
 *   authKey = BLAKE2b-256(key = master, "watchmesh/auth/v1")
 *
 * The topic is visible to anyone on the DHT, so it must not be usable as the auth key: the two are
 * separate keyed hashes of the master secret. Anyone who sees the topic can still guess passphrases
 * offline; the slow, memory-hard KDF is what makes each guess expensive.
 */
import sodium from 'sodium-universal'
import { WatchmeshError } from '../errors.js'
import type { RoomKeys } from './types.js'

/** Bumped whenever the salt, the parameters or the labels change: old and new rooms never meet. */
export const KDF_VERSION = 1

/** Fixed, public salt: the passphrase itself is the room's only secret (16 bytes = SALTBYTES). */
const SALT = new TextEncoder().encode('watchmesh-kdf-v1')

/**
 * Argon2id cost: 3 passes over 128 MiB took ~160 ms here (2 cores). That is unnoticeable once per
 * `join` yet makes every offline guess cost the same 128 MiB. libsodium's MODERATE (256 MiB) took
 * ~580 ms and would spike 32 daemons started at once on one machine to 8 GiB.
 */
const ARGON2_OPS = 3
const ARGON2_MEM_BYTES = 128 * 1024 * 1024

/** A room name, not a document; keeps the KDF input bounded. */
const MAX_PASSPHRASE_BYTES = 1024

const KEY_BYTES = 32

export function deriveRoomKeys (passphrase: string): RoomKeys {
  const passwd = kdfInput(passphrase)
  const master = new Uint8Array(KEY_BYTES)
  sodium.crypto_pwhash(master, passwd, SALT, ARGON2_OPS, ARGON2_MEM_BYTES, sodium.crypto_pwhash_ALG_ARGON2ID13)
  return roomKeysOf(master)
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
  return roomKeysOf(master)
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

function roomKeysOf (master: Uint8Array): RoomKeys {
  return {
    version: KDF_VERSION,
    topic: keyedHash(master, `watchmesh/topic/v${KDF_VERSION}`),
    authKey: keyedHash(master, `watchmesh/auth/v${KDF_VERSION}`)
  }
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
  const input = new Uint8Array(label.byteLength + keys.authKey.byteLength)
  input.set(label, 0)
  input.set(keys.authKey, label.byteLength)
  sodium.crypto_generichash(out, input, seed)
  return out
}
