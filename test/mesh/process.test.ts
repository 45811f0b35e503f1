/**
 * A node in its own process is killed with SIGKILL: the others notice within the deadline, and
 * the node comes back (same keypair, then a fresh one) and gets the current state. Members act
 * like the daemon: they send their state to every peer that comes up.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { ChildNode } from './child-node.js'
import { closeAll, createNode, keysFor, waitFor, waitFullMesh } from './helpers.js'
import type { TestNode } from './helpers.js'

const PASSPHRASE = 'processes'
/** Generous: the mesh's own deadline is 3 s of silence (limits.ts); this only stops a hang. */
const NOTICE_DEADLINE_MS = 10_000
const sharedNow = (): number => performance.timeOrigin + performance.now()

describe('a node process killed with SIGKILL', () => {
  let testnet: LocalTestnet
  let members: TestNode[] = []
  const children: ChildNode[] = []
  const seed = randomBytes(32)

  before(async () => {
    testnet = await startTestnet(3)
    members = ['a', 'b'].map(name => createNode(testnet, { name, passphrase: PASSPHRASE }))
    for (const m of members) {
      m.mesh.on('peer-up', info => m.mesh.send(info.id, Buffer.from(`state from ${m.mesh.id}`)))
    }
    await Promise.all(members.map(m => m.mesh.start()))
    await waitFullMesh(members)
  })

  after(async () => {
    await Promise.allSettled(children.map(c => c.close()))
    await closeAll(members)
    await testnet.close()
  })

  function spawn (childSeed?: Uint8Array): ChildNode {
    const child = new ChildNode({
      bootstrap: testnet.bootstrap,
      keys: keysFor(PASSPHRASE),
      name: 'x',
      ...(childSeed !== undefined ? { seed: childSeed } : {})
    })
    children.push(child)
    return child
  }

  /** The child is in the mesh: every member saw it come up and it got every member's state. */
  async function inMesh (child: ChildNode, upsBefore: number[]): Promise<void> {
    const id = await child.started()
    await waitFor('every member to admit the child', () => members.every((m, i) => m.rec.ups.slice(upsBefore[i]).some(p => p.id === id)), { timeoutMs: 20_000 })
    for (const m of members) {
      await child.next(`the state from ${m.mesh.id.slice(0, 6)}`, e => e.ev === 'message' && e.text === `state from ${m.mesh.id}` && e.broadcast === false)
    }
  }

  async function lostWithinDeadline (id: string, downsBefore: number[], t: { diagnostic: (s: string) => void }): Promise<void> {
    const killedAt = sharedNow()
    await waitFor('every member to notice the death', () => members.every((m, i) => m.rec.downs.slice(downsBefore[i]).some(d => d.peer === id)), { timeoutMs: NOTICE_DEADLINE_MS })
    t.diagnostic(`noticed after ~${Math.round(sharedNow() - killedAt)} ms (polling granularity 25 ms)`)
    for (const [i, m] of members.entries()) {
      assert.deepEqual(m.rec.downs.slice(downsBefore[i]).filter(d => d.peer === id).map(d => d.reason), ['lost'])
      assert.ok(!m.mesh.peers().some(p => p.id === id))
    }
  }

  const ups = (): number[] => members.map(m => m.rec.ups.length)
  const downs = (): number[] => members.map(m => m.rec.downs.length)

  it('is noticed as lost, then readmitted when restarted with the same keypair', async (t) => {
    const first = spawn(seed)
    await inMesh(first, ups())
    const before = downs()
    first.kill9()
    await lostWithinDeadline(first.id, before, t)

    const again = spawn(seed)
    await inMesh(again, ups())
    assert.equal(again.id, first.id)
  })

  it('restarted with the same keypair before anyone noticed, it replaces its old session at once', async () => {
    const previous = children[children.length - 1] as ChildNode
    const [upsBefore, downsBefore] = [ups(), downs()]
    previous.kill9()
    const again = spawn(seed)
    await inMesh(again, upsBefore)
    for (const [i, m] of members.entries()) {
      // The old session ends (lost) and the new one begins: the sync layer must resync it.
      assert.deepEqual(m.rec.downs.slice(downsBefore[i]).map(d => [d.peer, d.reason]), [[again.id, 'lost']])
    }
  })

  it('restarted with a fresh keypair, it joins as a new peer and the ghost is dropped', async (t) => {
    const previous = children[children.length - 1] as ChildNode
    const before = downs()
    previous.kill9()
    const fresh = spawn()
    await inMesh(fresh, ups())
    assert.notEqual(fresh.id, previous.id)
    await lostWithinDeadline(previous.id, before, t)

    members[0]?.mesh.broadcast(Buffer.from('after the churn'))
    await fresh.next('a broadcast after the churn', e => e.ev === 'message' && e.text === 'after the churn')
    await fresh.close()
    await waitFor('a clean leave', () => members.every(m => m.rec.downs.some(d => d.peer === fresh.id && d.reason === 'left')))
  })
})
