import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { deriveRoomKeys, deriveRoomKeysAsync, KDF_VERSION } from '../../src/mesh/keys.js'
import { isWatchmeshError } from '../../src/errors.js'
import { keysFor } from './helpers.js'

describe('deriveRoomKeys', () => {
  it('is deterministic, versioned, and keeps topic and auth key apart', () => {
    const a = deriveRoomKeys('movie night')
    const b = keysFor('movie night')
    assert.equal(a.version, KDF_VERSION)
    assert.equal(a.topic.byteLength, 32)
    assert.equal(a.authKey.byteLength, 32)
    assert.deepEqual(a.topic, b.topic)
    assert.deepEqual(a.authKey, b.authKey)
    assert.notDeepEqual(a.topic, a.authKey)
  })

  it('gives different rooms for different passphrases', () => {
    const a = keysFor('movie night')
    const b = keysFor('movie night!')
    assert.notDeepEqual(a.topic, b.topic)
    assert.notDeepEqual(a.authKey, b.authKey)
  })

  it('treats composed and decomposed accents as the same passphrase', () => {
    assert.deepEqual(deriveRoomKeys('caf\u00e9').topic, deriveRoomKeys('cafe\u0301').topic)
  })

  it('rejects an empty, blank or huge passphrase with BAD_PASSPHRASE', () => {
    for (const bad of ['', '   ', 'x'.repeat(1025)]) {
      assert.throws(() => deriveRoomKeys(bad), (err: unknown) => isWatchmeshError(err, 'BAD_PASSPHRASE'), JSON.stringify(bad.slice(0, 8)))
    }
  })

  it('derives the same keys on the thread pool (the daemon\'s way) as inline, and rejects the same bad input', async () => {
    const inline = deriveRoomKeys('movie night')
    const pooled = await deriveRoomKeysAsync('movie night')
    assert.deepEqual(pooled, inline)
    assert.notDeepEqual((await deriveRoomKeysAsync('movie night!')).topic, inline.topic)
    for (const bad of ['', '   ', 'x'.repeat(1025)]) {
      await assert.rejects(deriveRoomKeysAsync(bad), (err: unknown) => isWatchmeshError(err, 'BAD_PASSPHRASE'), JSON.stringify(bad.slice(0, 8)))
    }
  })
})
