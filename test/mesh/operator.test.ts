/** Managed rooms: the operator key, the passphrase's commitment, and the gate at the daemon's edge. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { commitmentOf, managedCommitment, managedPassphrase, operatorKeyPair } from '../../src/mesh/operator.js'
import { OperatorGate } from '../../src/daemon/operator-gate.js'
import { operatorGate } from '../../src/daemon/create.js'
import { decodeSyncMessage, encodeSyncMessage } from '../../src/sync/codec.js'
import type { PlaybackState, SyncMessage } from '../../src/sync/types.js'
import { isWatchmeshError } from '../../src/errors.js'

const ROOM_ID = new Uint8Array(32).fill(7)
const OTHER_ROOM_ID = new Uint8Array(32).fill(8)
const SECRET = 'bavoki-temisu-ralopa-nivedu-sakomi'
const state: PlaybackState = { media: null, playing: false, positionMs: 61_000, atMs: 5, rate: 1, stamp: { lamport: 9, nodeId: 'ab'.repeat(32) } }
const event: SyncMessage = { type: 'event', state }

function viewerGate (): OperatorGate {
  return new OperatorGate({ roomId: ROOM_ID, commitment: commitmentOf(operatorKeyPair(SECRET).publicKey), keys: null })
}

test('the operator key is a pure function of the secret; the viewers\' passphrase commits to it', () => {
  const a = operatorKeyPair(SECRET)
  assert.deepEqual(operatorKeyPair(` ${SECRET} `).publicKey, a.publicKey)
  assert.notDeepEqual(operatorKeyPair(SECRET + 'x').publicKey, a.publicKey)
  const viewers = managedPassphrase('kamito-rubeso', SECRET)
  assert.equal(managedCommitment(viewers), commitmentOf(a.publicKey))
  assert.equal(managedCommitment('kamito-rubeso'), null, 'an ordinary room')
  assert.equal(managedCommitment(viewers + 'x'), null)
})

test('an operator\'s state passes every gate; viewers can send none', () => {
  const operator = new OperatorGate({ roomId: ROOM_ID, commitment: commitmentOf(operatorKeyPair(SECRET).publicKey), keys: operatorKeyPair(SECRET) })
  const bytes = operator.outgoing(event)
  assert.ok(bytes !== null)
  assert.deepEqual(viewerGate().incoming(decodeSyncMessage(bytes)), { msg: event })
  assert.equal(viewerGate().outgoing(event), null, 'a viewer cannot sign a state')
  assert.deepEqual(decodeSyncMessage(viewerGate().outgoing({ type: 'chat', text: 'hi' }) as Uint8Array), { type: 'chat', text: 'hi' }, 'anything else goes as it is')
})

test('a member without the operator secret can neither control nor claim the lock', () => {
  const gate = viewerGate()
  // A bare state, as an ordinary room would send it.
  assert.ok('refused' in gate.incoming(event))
  assert.ok('refused' in gate.incoming({ type: 'announce', state, leader: state.stamp.nodeId }))
  // Signed with a key of its own making: not the key the passphrase commits to.
  const mallory = operatorKeyPair('mallory\'s own secret')
  const forged = new OperatorGate({ roomId: ROOM_ID, commitment: commitmentOf(mallory.publicKey), keys: mallory }).outgoing(event) as Uint8Array
  assert.match((gate.incoming(decodeSyncMessage(forged)) as { refused: string }).refused, /not this room's operator key/)
  // The operator's key with a signature over other bytes (an altered state, or one from another room).
  const genuine = decodeSyncMessage(new OperatorGate({ roomId: OTHER_ROOM_ID, commitment: '', keys: operatorKeyPair(SECRET) }).outgoing(event) as Uint8Array)
  assert.match((gate.incoming(genuine) as { refused: string }).refused, /bad operator signature/)
  assert.ok(genuine.type === 'operated')
  const altered = encodeSyncMessage({ type: 'event', state: { ...state, positionMs: 0 } })
  assert.match((gate.incoming({ ...genuine, inner: altered }) as { refused: string }).refused, /bad operator signature/)
  // Claiming the lock from the command line: a wrong secret is refused, and none lifts it.
  assert.throws(() => operatorGate(managedPassphrase('kamito', SECRET), 'a guess', ROOM_ID), (err: unknown) => isWatchmeshError(err, 'BAD_PASSPHRASE'))
  assert.throws(() => operatorGate('kamito', SECRET, ROOM_ID), (err: unknown) => isWatchmeshError(err, 'BAD_USAGE'))
  assert.equal(operatorGate(managedPassphrase('kamito', SECRET), undefined, ROOM_ID)?.isOperator, false)
  assert.equal(operatorGate(managedPassphrase('kamito', SECRET), SECRET, ROOM_ID)?.isOperator, true)
})
