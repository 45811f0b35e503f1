import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { admissionProof, verifyAdmissionProof } from '../../src/mesh/admission.js'

const key = new Uint8Array(32).fill(7)
const otherKey = new Uint8Array(32).fill(8)
const hash = new Uint8Array(64).fill(1)
const otherHash = new Uint8Array(64).fill(2)

describe('admission proof', () => {
  it('verifies the remote side of the same connection and key', () => {
    const initiatorProof = admissionProof(key, hash, true)
    assert.equal(verifyAdmissionProof(key, hash, false, initiatorProof), true)
    const responderProof = admissionProof(key, hash, false)
    assert.equal(verifyAdmissionProof(key, hash, true, responderProof), true)
  })

  it('differs by side, so our own proof reflected back is refused', () => {
    const ours = admissionProof(key, hash, true)
    assert.notDeepEqual(ours, admissionProof(key, hash, false))
    assert.equal(verifyAdmissionProof(key, hash, true, ours), false)
  })

  it('is bound to the connection: a proof from another handshake is refused', () => {
    assert.equal(verifyAdmissionProof(key, otherHash, false, admissionProof(key, hash, true)), false)
  })

  it('is refused under another key, or when truncated', () => {
    assert.equal(verifyAdmissionProof(key, hash, false, admissionProof(otherKey, hash, true)), false)
    assert.equal(verifyAdmissionProof(key, hash, false, admissionProof(key, hash, true).subarray(0, 31)), false)
  })
})
