/**
 * Two rooms whose passphrases fall in the same topic bucket meet on the DHT (one topic), fail
 * each other's PAKE and part: each room forms its own mesh, nobody is admitted across, the
 * failures are logged quietly under their own refusal kind (not as an attack), and a key that
 * failed is refused from then on instead of being dialled again and again.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { bucketOf, roomKeysFromMaster } from '../../src/mesh/keys.js'
import type { RoomKeys } from '../../src/mesh/types.js'
import { meshBed, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'

/** Two rooms of one bucket: random masters stand for passphrases (a real collision costs 2^16 Argon2id runs). */
function twoRoomsInOneBucket (): [RoomKeys, RoomKeys] {
  const first = roomKeysFromMaster(new Uint8Array(randomBytes(32)))
  for (let tries = 0; tries < 65_536 * 20; tries++) {
    const master = new Uint8Array(randomBytes(32))
    if (bucketOf(master) === first.bucket) return [first, roomKeysFromMaster(master)]
  }
  throw new Error(`no second master in bucket ${first.bucket}`)
}

const PAKE_FAILED = /PAKE confirmation is wrong/

describe('two rooms in one topic bucket', () => {
  const bed = meshBed()

  it('stay separate, part quietly, and do not redial each other', async () => {
    const [keysA, keysB] = twoRoomsInOneBucket()
    assert.deepEqual(keysA.topic, keysB.topic, 'one topic on the DHT')
    const roomA = ['a1', 'a2'].map(name => bed.node({ name, keys: keysA }))
    const roomB = ['b1', 'b2'].map(name => bed.node({ name, keys: keysB }))
    await Promise.all(bed.nodes.map(n => n.mesh.start()))
    await waitFullMesh(roomA)
    await waitFullMesh(roomB)

    // Every cross-room pair met and failed the PAKE at one end or the other (whichever end checks
    // first closes the link; the other may see only the reset).
    const failedOn = (n: TestNode, peer: string): number => n.rec.logs.filter(l => l.peer === peer && PAKE_FAILED.test(l.msg)).length
    const pairs = roomA.flatMap(a => roomB.map(b => [a, b] as const))
    const parted = ([a, b]: readonly [TestNode, TestNode]): boolean => failedOn(a, b.mesh.id) + failedOn(b, a.mesh.id) > 0
    await waitFor('every cross-room pair to fail the PAKE', () => pairs.every(parted), { timeoutMs: 30_000 }).catch((err: unknown) => {
      throw new Error(`${String(err)}; parted: ${pairs.map(p => `${p[0].mesh.id.slice(0, 6)}-${p[1].mesh.id.slice(0, 6)}: ${parted(p)}`).join(', ')}`)
    })

    // A latecomer in room B: its lookups find room A's members too, and they meet it once.
    const late = bed.node({ name: 'b3', keys: keysB })
    await late.mesh.start()
    roomB.push(late)
    await waitFullMesh(roomB, 30_000)
    const latePairs = roomA.map(a => [a, late] as const)
    await waitFor('room A and the latecomer to part', () => latePairs.every(parted), { timeoutMs: 30_000 })

    for (const a of roomA) {
      for (const b of roomB) {
        assert.ok(!a.rec.ups.some(u => u.id === b.mesh.id), 'nobody is admitted across rooms')
        assert.ok(!b.rec.ups.some(u => u.id === a.mesh.id), 'nobody is admitted across rooms')
        // Both ends ban the other's key after one failure: at most one failed run each way, however
        // many lookups (the join refreshes, the latecomer's) found the other room since.
        assert.ok(failedOn(a, b.mesh.id) <= 1 && failedOn(b, a.mesh.id) <= 1,
          `${a.mesh.id.slice(0, 6)} and ${b.mesh.id.slice(0, 6)} failed ${failedOn(a, b.mesh.id)} and ${failedOn(b, a.mesh.id)} times`)
      }
    }
    // Quiet: the other room is no attack, so nothing about it above debug (a wrong passphrase looks the same).
    for (const n of bed.nodes) {
      const loud = n.rec.logs.filter(l => l.level !== 'debug' && PAKE_FAILED.test(l.msg))
      assert.deepEqual(loud, [], 'PAKE failures are told at debug level (--verbose)')
    }
  })
})
