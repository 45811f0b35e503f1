/**
 * A node killed with SIGKILL and restarted (same keypair) once its peers have noticed: by then each
 * of them is dialing it again, and that dial went out to its dead self (its old DHT node first).
 * When two connections between the same keys cross, hyperswarm keeps the one the keys' order
 * names; here the members' keys sort above the node's, so that rule alone would keep their dials
 * to the dead node and refuse the restarted node's own connection until those dials ended.
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import DHT from 'hyperdht'
import { nodeSeedForRoom } from '../../src/mesh/keys.js'
import type { RoomKeys } from '../../src/mesh/types.js'
import { ChildNode } from './child-node.js'
import { keysFor, meshBed, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'

const PASSPHRASE = 'back from the dead'
/** Deadlines only: the mesh notices a death within ~3 s and dials again ~1 s later (limits.ts, backoff.ts). */
const NOTICE_DEADLINE_MS = 15_000
const ADMIT_DEADLINE_MS = 20_000

/** A seed whose node key in this room has a first byte that `accept` takes. */
function seedWithKey (keys: RoomKeys, accept: (firstByte: number) => boolean): Uint8Array {
  for (;;) {
    const seed = randomBytes(32)
    if (accept(DHT.keyPair(nodeSeedForRoom(seed, keys)).publicKey[0] ?? 0)) return seed
  }
}

describe('a node restarted after its peers noticed its death', () => {
  const keys = keysFor(PASSPHRASE)
  const bed = meshBed(3)
  let members: TestNode[] = []
  const children: ChildNode[] = []
  bed.closeAfter(async () => await Promise.allSettled(children.map(c => c.close())))

  before(async () => {
    // Not firewalled, as daemons on a private network (src/daemon/create.ts).
    members = ['a', 'b'].map(name => bed.node({ name, passphrase: PASSPHRASE, reachable: true, seed: seedWithKey(keys, b => b >= 0x80) }))
    await Promise.all(members.map(m => m.mesh.start()))
    await waitFullMesh(members)
  })

  function spawn (seed: Uint8Array): ChildNode {
    const child = new ChildNode({ bootstrap: bed.testnet.bootstrap, keys, name: 'x', seed, reachable: true })
    children.push(child)
    return child
  }

  const logsOf = (m: TestNode, from: number, id: string): string[] => m.rec.logs.slice(from).filter(l => l.peer === id).map(l => l.msg)

  it('is taken over the members\' dials to its dead self', async (t) => {
    const seed = seedWithKey(keys, b => b < 0x80)
    const first = spawn(seed)
    const id = await first.started()
    await waitFor('every member to admit the node', () => members.every(m => m.rec.ups.some(p => p.id === id)), { timeoutMs: ADMIT_DEADLINE_MS })

    const logsBefore = members.map(m => m.rec.logs.length)
    first.kill9()
    await waitFor('every member to dial the node again after losing it', () => members.every((m, i) => logsOf(m, logsBefore[i] ?? 0, id).some(msg => msg.endsWith('dialing it again'))), {
      timeoutMs: NOTICE_DEADLINE_MS,
      seen: () => members.map((m, i) => logsOf(m, logsBefore[i] ?? 0, id))
    })

    const upsBefore = members.map(m => m.rec.ups.length)
    const spawnedAt = performance.now()
    spawn(seed)
    await waitFor('every member to admit the restarted node', () => members.every((m, i) => m.rec.ups.slice(upsBefore[i]).some(p => p.id === id)), {
      timeoutMs: ADMIT_DEADLINE_MS,
      seen: () => members.map((m, i) => logsOf(m, logsBefore[i] ?? 0, id))
    })
    t.diagnostic(`both members admitted it ~${Math.round(performance.now() - spawnedAt)} ms after its spawn (not judged)`)
    for (const [i, m] of members.entries()) {
      const seen = logsOf(m, logsBefore[i] ?? 0, id)
      const joined = seen.filter(msg => / joined over /.test(msg))
      assert.deepEqual(joined, [`x (${id.slice(0, 8)}) joined over its dial`], `member ${m.mesh.id.slice(0, 8)} should take the restarted node's own connection; its lines: ${JSON.stringify(seen)}`)
    }
  })
})
