/**
 * The PAKE (pake.ts) and what an attacker gets out of it. The attacker here holds everything it
 * would hold for real: its own secret scalar, the member's share and confirmation of a run it
 * made with a wrong guess; then it tries every candidate offline, the right passphrase included.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import sodium from 'sodium-universal'
import { PakeExchange, confirmation, pakeGenerator, pakeSessionKey } from '../../src/mesh/pake.js'

const rightKey = new Uint8Array(32).fill(7)
const wrongKey = new Uint8Array(32).fill(8)
const sid = new Uint8Array(64).fill(1)

/** Both sides of one connection: each one's confirmation as the other checks it. */
function run (initiatorKey: Uint8Array, responderKey: Uint8Array, sessionId = sid): { initiatorOk: boolean, responderOk: boolean } {
  const i = new PakeExchange(initiatorKey, sessionId, true)
  const r = new PakeExchange(responderKey, sessionId, false)
  const fromI = i.respond(r.share)
  const fromR = r.respond(i.share)
  assert.ok(fromI !== null && fromR !== null, 'honest shares are points')
  return { initiatorOk: i.verify(fromR), responderOk: r.verify(fromI) }
}

/** An attacker's run with `guessKey` against a member (responder) holding `memberKey`: what it holds after. */
function attackerRun (guessKey: Uint8Array, memberKey: Uint8Array): { scalar: Uint8Array, share: Uint8Array, memberShare: Uint8Array, memberConfirm: Uint8Array } {
  const scalar = new Uint8Array(32)
  sodium.crypto_core_ed25519_scalar_random(scalar)
  const share = new Uint8Array(32)
  sodium.crypto_scalarmult_ed25519_noclamp(share, scalar, pakeGenerator(guessKey, sid))
  const member = new PakeExchange(memberKey, sid, false)
  const memberConfirm = member.respond(share)
  assert.ok(memberConfirm !== null)
  return { scalar, share, memberShare: member.share, memberConfirm }
}

/**
 * The attacker's offline check of `candidate` against a recorded run: the key it can compute
 * (its scalar times the member's share) and the member's confirmation under it. This is the
 * check that tells a right guess from a wrong one when the guess made in the run was `candidate`.
 */
function offlineCheck (rec: ReturnType<typeof attackerRun>, candidate: Uint8Array): boolean {
  const k = new Uint8Array(32)
  sodium.crypto_scalarmult_ed25519_noclamp(k, rec.scalar, rec.memberShare)
  const isk = pakeSessionKey(k, sid, rec.share, rec.memberShare)
  // Candidates also enter through the generator: a scalar that would fit `candidate` needs a
  // discrete log, so try the attacker's share re-expressed under the candidate's generator too.
  const rebased = new Uint8Array(32)
  sodium.crypto_scalarmult_ed25519_noclamp(rebased, rec.scalar, pakeGenerator(candidate, sid))
  const iskRebased = pakeSessionKey(k, sid, rebased, rec.memberShare)
  return [isk, iskRebased].some(key => sodium.sodium_memcmp(confirmation(key, false), rec.memberConfirm))
}

describe('PAKE', () => {
  it('both sides confirm under the same key and the same connection', () => {
    assert.deepEqual(run(rightKey, rightKey), { initiatorOk: true, responderOk: true })
  })

  it('neither side confirms under different keys (another room, or a wrong passphrase)', () => {
    assert.deepEqual(run(rightKey, wrongKey), { initiatorOk: false, responderOk: false })
  })

  it('a reflected confirmation, or one from another connection, fails', () => {
    const i = new PakeExchange(rightKey, sid, true)
    const r = new PakeExchange(rightKey, sid, false)
    const fromI = i.respond(r.share) as Uint8Array
    assert.equal(i.verify(fromI), false, 'our own confirmation reflected back')
    const elsewhere = new PakeExchange(rightKey, new Uint8Array(64).fill(2), false)
    elsewhere.respond(i.share)
    assert.equal(elsewhere.verify(fromI), false, 'a confirmation recorded on another connection')
  })

  it('shares are fresh per run, so one run\'s messages say nothing about the next', () => {
    assert.notDeepEqual(new PakeExchange(rightKey, sid, true).share, new PakeExchange(rightKey, sid, true).share)
  })

  it('refuses shares that are not points of the group: the identity, small order, non-canonical, short', () => {
    const identity = new Uint8Array(32)
    identity[0] = 1
    const smallOrder = new Uint8Array(32) // (0, -1): order 2
    smallOrder[0] = 0xec
    smallOrder.fill(0xff, 1, 31)
    smallOrder[31] = 0x7f
    const nonCanonical = new Uint8Array(32).fill(0xff)
    for (const [what, share] of [['identity', identity], ['order 2', smallOrder], ['non-canonical', nonCanonical], ['zero', new Uint8Array(32)], ['short', new Uint8Array(31)]] as const) {
      assert.equal(new PakeExchange(rightKey, sid, false).respond(share), null, what)
    }
  })

  it('a failed run gives nothing to check offline, not even the right passphrase; a right guess would have shown', () => {
    const dictionary = [rightKey, ...Array.from({ length: 50 }, () => new Uint8Array(randomBytes(32)))]
    const failed = attackerRun(wrongKey, rightKey)
    const hits = dictionary.filter(candidate => offlineCheck(failed, candidate))
    assert.deepEqual(hits, [], 'no candidate (the right one is the first) verifies against the failed run')
    assert.equal(offlineCheck(failed, wrongKey), false, 'and the guess itself is refuted')

    // The same check is not blind: in a run whose guess was right, it says so.
    const right = attackerRun(rightKey, rightKey)
    assert.equal(offlineCheck(right, rightKey), true)
    // A fresh online run with the right passphrase is what it takes.
    assert.deepEqual(run(rightKey, rightKey), { initiatorOk: true, responderOk: true })
  })
})
