/**
 * Helpers for mesh tests: cached room keys (Argon2id costs ~160 ms per derivation), meshes on a
 * local testnet with short timings, and a recorder of everything a mesh emits.
 */
import { deriveRoomKeys } from '../../src/mesh/keys.js'
import { SwarmMesh } from '../../src/mesh/swarm-mesh.js'
import type { SwarmMeshOptions } from '../../src/mesh/swarm-mesh.js'
import type { MeshEvents, PeerId, RoomKeys } from '../../src/mesh/types.js'
import { after, before } from 'node:test'
import { waitFor } from '../fixtures/wait.js'
import { startTestnet } from '../fixtures/testnet.js'
import type { LocalTestnet } from '../fixtures/testnet.js'

const keyCache = new Map<string, RoomKeys>()

export function keysFor (passphrase: string): RoomKeys {
  let keys = keyCache.get(passphrase)
  if (keys === undefined) {
    keys = deriveRoomKeys(passphrase)
    keyCache.set(passphrase, keys)
  }
  return keys
}

/** Everything one mesh emitted, in order. */
export class Recorder {
  readonly ups: MeshEvents['peer-up'][0][] = []
  readonly downs: Array<{ peer: PeerId, reason: 'left' | 'lost' }> = []
  readonly messages: MeshEvents['message'][0][] = []
  readonly samples: MeshEvents['clock-sample'][0][] = []
  readonly logs: MeshEvents['log'][0][] = []

  constructor (readonly mesh: SwarmMesh) {
    mesh.on('peer-up', info => this.ups.push(info))
    mesh.on('peer-down', (peer, reason) => this.downs.push({ peer, reason }))
    mesh.on('message', m => this.messages.push(m))
    mesh.on('clock-sample', s => this.samples.push(s))
    mesh.on('log', l => {
      this.logs.push(l)
      if (process.env.WM_MESH_DEBUG !== undefined) console.error(`[${mesh.id.slice(0, 6)}] ${l.level}: ${l.msg}`)
    })
  }

  /** What was delivered, as text, leaving out barrier markers (see `barrier`). */
  texts (): string[] {
    return this.messages.map(m => Buffer.from(m.payload).toString()).filter(t => !t.startsWith(BARRIER_PREFIX))
  }

  /** The direct peers whose barrier marker `tag` has arrived. */
  barriersFrom (tag: string): Set<PeerId> {
    const marker = BARRIER_PREFIX + tag
    return new Set(this.messages.filter(m => !m.broadcast && Buffer.from(m.payload).toString() === marker).map(m => m.from))
  }

  /** How many peers `peer` last said it is connected to (its neighbour list); null before it said. */
  neighboursOf (peer: PeerId): number | null {
    for (let i = this.logs.length - 1; i >= 0; i--) {
      const l = this.logs[i]
      const m = l?.peer === peer ? /is connected to (\d+) peers/.exec(l.msg) : null
      if (m !== null && m !== undefined) return Number(m[1])
    }
    return null
  }
}

/** Payloads of barrier markers begin with this. */
const BARRIER_PREFIX = 'barrier:'

/**
 * Instead of waiting a while before checking that nothing more arrived: every node sends a marker
 * straight to each of its direct peers, and this resolves once every node has the markers of all
 * of them. A link delivers in order, so whatever a peer relayed over it before (a duplicate, say)
 * has arrived by then.
 */
export async function barrier (nodes: TestNode[], tag: string): Promise<void> {
  const payload = Buffer.from(BARRIER_PREFIX + tag)
  const ids = new Set(nodes.map(n => n.mesh.id))
  // Links among `nodes` only: other members of the room send no markers.
  const links = (n: TestNode): string[] => n.mesh.peers().filter(p => p.direct && ids.has(p.id)).map(p => p.id)
  for (const n of nodes) {
    for (const id of links(n)) n.mesh.send(id, payload)
  }
  await waitFor(`barrier ${tag} at every node`, () => nodes.every(n => {
    const got = n.rec.barriersFrom(tag)
    return links(n).every(id => got.has(id))
  }))
}

/** Waits until every node has heard, from each direct peer, a neighbour list of that peer's current size. */
export async function waitNeighboursKnown (nodes: TestNode[], timeoutMs = 10_000): Promise<void> {
  const direct = (n: TestNode): string[] => n.mesh.peers().filter(p => p.direct).map(p => p.id)
  const byId = new Map(nodes.map(n => [n.mesh.id, n]))
  await waitFor('every node to know its peers\' neighbours', () => nodes.every(n => direct(n).every(id => {
    const peer = byId.get(id)
    return peer === undefined || n.rec.neighboursOf(id) === direct(peer).length
  })), { timeoutMs })
}

export interface TestNode {
  mesh: SwarmMesh
  rec: Recorder
}

/** Short timings so liveness tests finish quickly; still far above loopback round trips. */
export const TEST_LIMITS = { admissionTimeoutMs: 3000 }

export function createNode (testnet: LocalTestnet, opts: Partial<SwarmMeshOptions> & { passphrase?: string } = {}): TestNode {
  const mesh = new SwarmMesh({
    keys: opts.keys ?? keysFor(opts.passphrase ?? 'movie night'),
    name: opts.name ?? 'viewer',
    bootstrap: testnet.bootstrap,
    host: '127.0.0.1',
    limits: { ...TEST_LIMITS, ...opts.limits },
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.firewall !== undefined ? { firewall: opts.firewall } : {}),
    ...(opts.reachable !== undefined ? { reachable: opts.reachable } : {}),
    ...(opts.urgent !== undefined ? { urgent: opts.urgent } : {})
  })
  return { mesh, rec: new Recorder(mesh) }
}

/** Waits until every node has every other as a peer (a full mesh). */
export async function waitFullMesh (nodes: TestNode[], timeoutMs = 20_000): Promise<void> {
  await waitFor(`a full mesh of ${nodes.length}`, () => nodes.every(n => {
    const ids = new Set(n.mesh.peers().map(p => p.id))
    return nodes.every(o => o === n || ids.has(o.mesh.id))
  }), { timeoutMs })
}

export async function closeAll (nodes: TestNode[]): Promise<void> {
  await Promise.allSettled(nodes.map(n => n.mesh.close()))
}

/** A describe block's own local testnet and the meshes its tests start on it. */
export interface MeshBed {
  /** The testnet (started before the block's first test). */
  readonly testnet: LocalTestnet
  /** Every node made by `node()`, in order. */
  readonly nodes: readonly TestNode[]
  /** Creates a node on the testnet; it is closed after the block. */
  node: (opts?: Parameters<typeof createNode>[1]) => TestNode
  /** Something else to close after the block, before the nodes (e.g. a raw peer). */
  closeAfter: (close: () => Promise<unknown>) => void
}

/**
 * Call inside describe(): starts a testnet before the block's tests and, after them, closes what
 * was registered, then every node, then the testnet.
 */
export function meshBed (dhtNodes = 3): MeshBed {
  let testnet: LocalTestnet | undefined
  const nodes: TestNode[] = []
  const closers: Array<() => Promise<unknown>> = []
  before(async () => { testnet = await startTestnet(dhtNodes) })
  after(async () => {
    await Promise.allSettled(closers.map(async close => await close()))
    await closeAll(nodes)
    await testnet?.close()
  })
  const bed: MeshBed = {
    get testnet () {
      if (testnet === undefined) throw new Error('meshBed: the testnet starts before the block\'s tests; use it inside a test')
      return testnet
    },
    nodes,
    node (opts = {}) {
      const node = createNode(bed.testnet, opts)
      nodes.push(node)
      return node
    },
    closeAfter (close) { closers.push(close) }
  }
  return bed
}

export { waitFor }
