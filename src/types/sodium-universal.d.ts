/**
 * Hand-written declarations for the sodium-universal 5 functions watchmesh uses. Outputs are
 * written into the first argument, as in libsodium.
 */
declare module 'sodium-universal' {
  namespace sodium {
    const crypto_pwhash_ALG_ARGON2ID13: number
    const crypto_pwhash_SALTBYTES: number
    const crypto_pwhash_OPSLIMIT_MIN: number
    const crypto_pwhash_MEMLIMIT_MIN: number
    function crypto_pwhash (out: Uint8Array, passwd: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number, alg: number): void
    /** The same on libuv's thread pool; resolves once `out` is filled. */
    function crypto_pwhash_async (out: Uint8Array, passwd: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number, alg: number): Promise<void>

    const crypto_generichash_BYTES: number
    const crypto_generichash_KEYBYTES: number
    /** BLAKE2b; keyed when `key` is given. */
    function crypto_generichash (out: Uint8Array, input: Uint8Array, key?: Uint8Array): void

    const crypto_sign_BYTES: number
    const crypto_sign_PUBLICKEYBYTES: number
    const crypto_sign_SECRETKEYBYTES: number
    function crypto_sign_seed_keypair (publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void
    function crypto_sign_detached (sig: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void
    function crypto_sign_verify_detached (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean

    const crypto_core_ed25519_SCALARBYTES: number
    /** Elligator2 onto the main subgroup (cofactor cleared). */
    function crypto_core_ed25519_from_uniform (p: Uint8Array, r: Uint8Array): void
    /** Canonical, on the main subgroup, not of small order. */
    function crypto_core_ed25519_is_valid_point (p: Uint8Array): boolean
    /** A uniform scalar in [1, L). */
    function crypto_core_ed25519_scalar_random (r: Uint8Array): void
    /** Throws when the result is the identity. */
    function crypto_scalarmult_ed25519_noclamp (q: Uint8Array, n: Uint8Array, p: Uint8Array): void

    /** Constant-time comparison of equal-length buffers. */
    function sodium_memcmp (a: Uint8Array, b: Uint8Array): boolean
    function randombytes_buf (out: Uint8Array): void
  }

  export = sodium
}
