import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { BUCKET_BITS, BUCKET_COUNT, bucketOf, bucketTopic, deriveRoomKeys, deriveRoomKeysAsync, KDF_VERSION, roomKeysFromMaster } from '../../src/mesh/keys.js'
import { PakeExchange } from '../../src/mesh/pake.js'
import { randomBytes } from 'node:crypto'
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
    assert.equal(a.roomId.byteLength, 32)
    assert.notDeepEqual(a.roomId, a.authKey)
    assert.deepEqual(a.topic, bucketTopic(a.bucket), 'the topic is the bucket\'s, nothing more')
  })

  it('gives different rooms for different passphrases', () => {
    const a = keysFor('movie night')
    const b = keysFor('movie night!')
    assert.notDeepEqual(a.authKey, b.authKey)
    assert.notDeepEqual(a.roomId, b.roomId)
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

/**
 * What a DHT observer holds is the topic. Offline, with a guess, it can compute the guess's
 * topic: equal means "same bucket", which 1 in 2^16 wrong guesses also is. Telling them apart
 * takes a PAKE run with a member (pake.test.ts: a failed run is no offline check either).
 */
describe('what the topic tells an offline guesser', () => {
  const room = roomKeysFromMaster(new Uint8Array(randomBytes(32)))

  it('a topic is one of 2^16 bucket topics, and which one is all it says', () => {
    const topics = new Map<string, number>()
    for (let b = 0; b < BUCKET_COUNT; b++) topics.set(Buffer.from(bucketTopic(b)).toString('hex'), b)
    assert.equal(topics.size, BUCKET_COUNT, 'every bucket has its own topic')
    assert.equal(topics.get(Buffer.from(room.topic).toString('hex')), room.bucket, 'the observer recovers the bucket')
    assert.equal(BUCKET_BITS, 16)
  })

  it('wrong passphrases in the room\'s bucket match its topic and still fail the PAKE', () => {
    // Random masters stand for guesses (each costs an Argon2id for real; the bucket needs only a hash here).
    const maxTries = BUCKET_COUNT * 20 // a miss after this many is e^-20 likely
    let collider: Uint8Array | null = null
    let tries = 0
    while (collider === null && tries < maxTries) {
      tries++
      const master = new Uint8Array(randomBytes(32))
      if (bucketOf(master) === room.bucket) collider = master
    }
    assert.ok(collider !== null, `no master of bucket ${room.bucket} in ${tries} tries`)
    const guess = roomKeysFromMaster(collider)
    assert.deepEqual(guess.topic, room.topic, 'the wrong guess passes the only offline check the topic allows')
    assert.notDeepEqual(guess.roomId, room.roomId)

    const sid = new Uint8Array(randomBytes(64))
    const member = new PakeExchange(room.authKey, sid, false)
    const guesser = new PakeExchange(guess.authKey, sid, true)
    const fromGuesser = guesser.respond(member.share) as Uint8Array
    const fromMember = member.respond(guesser.share) as Uint8Array
    assert.equal(member.verify(fromGuesser), false, 'the member refuses the guess')
    assert.equal(guesser.verify(fromMember), false, 'the guesser learns the guess was wrong, online, for this one room')
  })
})
