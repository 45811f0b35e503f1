/**
 * `npm run bench:mesh [-- --json] [-- --nodes 2,8,16,32] [-- --idle-seconds 10] [-- --events 40]`
 *
 * For each N: N SwarmMesh processes (test/mesh/mesh-node.js) on a local testnet (127.0.0.1).
 * - meshMs: from the moment the last node finished start() (announced on the DHT) until every
 *   node has all N-1 others as peers. Keys are derived once here and passed in: 32 Argon2id runs
 *   at once would measure the KDF, not the mesh.
 * - fanoutMsP50/P99: over `events` broadcasts from rotating authors, the time from the author's
 *   broadcast() until the last of the N-1 others delivered it (clock shared by processes on one
 *   machine: performance.timeOrigin + performance.now()).
 * - rssMb, idleCpuPct: mean per node over an idle window (pings only).
 * - idleBytesPerSecPerLink: encrypted stream bytes written by both ends of each link, per second,
 *   over the idle window (UDX/UDP/IP headers not included).
 * - deadPeerMs: SIGKILL one node -> the last other node reports it lost.
 * - readmitMs: respawn it with the same keypair -> the last other node reports it up again
 *   (includes starting Node and the process).
 */
import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { deriveRoomKeys } from '../src/mesh/keys.js'
import type { RoomKeys } from '../src/mesh/types.js'
import { startTestnet } from '../test/fixtures/testnet.js'
import type { LocalTestnet } from '../test/fixtures/testnet.js'
import { ChildNode } from '../test/mesh/child-node.js'
import type { ChildEvent } from '../test/mesh/child-node.js'
import { waitFor } from '../test/fixtures/wait.js'
import { percentile as nearestRank } from '../sim/stats.js'

/** Nearest-rank percentile; NaN for no values (printed as null in JSON). */
const percentile = (values: number[], p: number): number => nearestRank(values, p) ?? NaN

/** IPv4 + UDP headers per datagram, for the on-the-wire estimate. */
const UDP_IP_HEADER_BYTES = 28

interface Run {
  nodes: number
  meshMs: number
  fanoutMsP50: number
  fanoutMsP99: number
  rssMb: number
  idleCpuPct: number
  idleBytesPerSecPerLink: number
  deadPeerMs: number
  readmitMs: number
}

/** Broadcasts are spaced so that one event's fan-out does not queue behind the previous one. */
const EVENT_SPACING_MS = 100
/** Deadlines for each phase: a mesh of 32 processes on 2 cores needs some seconds to boot. */
const START_DEADLINE_MS = 90_000
const MESH_DEADLINE_MS = 90_000
const PHASE_DEADLINE_MS = 30_000

/** Per N: UDX bytes + UDP/IP headers per idle link per second (table only; not in the JSON shape). */
const wireBytesPerLink = new Map<number, number>()

const sharedNow = (): number => performance.timeOrigin + performance.now()
const log = (msg: string): void => { process.stderr.write(`bench:mesh ${msg}\n`) }

function parseArgs (argv: string[]): { json: boolean, sizes: number[], idleSeconds: number, events: number } {
  let json = false
  let sizes = [2, 8, 16, 32]
  let idleSeconds = 10
  let events = 40
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') json = true
    else if (a === '--nodes') sizes = (argv[++i] ?? '').split(',').map(Number)
    else if (a === '--idle-seconds') idleSeconds = Number(argv[++i])
    else if (a === '--events') events = Number(argv[++i])
    else throw new Error(`unknown argument ${a}; use --json, --nodes 2,8,16,32, --idle-seconds S, --events E`)
  }
  if (sizes.some(n => !Number.isInteger(n) || n < 2) || !(idleSeconds > 0) || !(events > 0)) throw new Error('bad arguments')
  return { json, sizes, idleSeconds, events }
}


/** Current peers of a child from its event log, and when that set last grew. */
function peerSet (child: ChildNode): { peers: Set<string>, lastUpT: number } {
  const peers = new Set<string>()
  let lastUpT = 0
  for (const e of child.events) {
    if (e.ev === 'peer-up' && e.id !== undefined) {
      peers.add(e.id)
      lastUpT = e.t
    } else if (e.ev === 'peer-down' && e.id !== undefined) peers.delete(e.id)
  }
  return { peers, lastUpT }
}

async function stats (children: ChildNode[]): Promise<Map<ChildNode, ChildEvent>> {
  const from = children.map(c => c.events.length)
  for (const c of children) c.command({ cmd: 'stats' })
  const result = new Map<ChildNode, ChildEvent>()
  for (const [i, c] of children.entries()) {
    result.set(c, await c.next('stats', e => e.ev === 'stats', { from: from[i], timeoutMs: PHASE_DEADLINE_MS }))
  }
  return result
}

async function runOne (n: number, keys: RoomKeys, testnet: LocalTestnet, idleSeconds: number, eventCount: number): Promise<Run> {
  const seeds = Array.from({ length: n }, () => randomBytes(32))
  const spawn = (seed: Uint8Array, i: number): ChildNode => new ChildNode({ bootstrap: testnet.bootstrap, keys, name: `node${i}`, seed })
  const children = seeds.map(spawn)
  try {
    await Promise.all(children.map(c => c.started(START_DEADLINE_MS)))
    const lastStartedT = Math.max(...children.map(c => c.events.find(e => e.ev === 'started')?.t ?? 0))
    await waitFor(`a full mesh of ${n}`, () => children.every(c => peerSet(c).peers.size === n - 1), { timeoutMs: MESH_DEADLINE_MS, intervalMs: 100 })
    const meshMs = Math.max(...children.map(c => peerSet(c).lastUpT)) - lastStartedT
    log(`${n} nodes: full mesh ${Math.round(meshMs)} ms after the last start`)
    await sleep(1000)

    // Fan-out.
    const fanouts: number[] = []
    for (let k = 0; k < eventCount; k++) {
      const author = children[k % n] as ChildNode
      const text = `fan:${n}:${k}`
      const from = children.map(c => c.events.length)
      author.command({ cmd: 'broadcast', text })
      const sent = await author.next('sent', e => e.ev === 'sent' && e.text === text, { from: from[children.indexOf(author)], timeoutMs: PHASE_DEADLINE_MS })
      const received = await Promise.all(children.filter(c => c !== author).map(c =>
        c.next(`delivery of ${text}`, e => e.ev === 'message' && e.text === text, { from: from[children.indexOf(c)], timeoutMs: PHASE_DEADLINE_MS })))
      fanouts.push(Math.max(...received.map(e => e.t)) - sent.t)
      await sleep(EVENT_SPACING_MS)
    }

    // Idle cost.
    await sleep(2000)
    const before = await stats(children)
    await sleep(idleSeconds * 1000)
    const after = await stats(children)
    let cpuPct = 0
    let rssBytes = 0
    let bytesWritten = 0
    let wireBytes = 0
    for (const c of children) {
      const b = before.get(c) as ChildEvent
      const a = after.get(c) as ChildEvent
      cpuPct += ((a.cpuUs ?? 0) - (b.cpuUs ?? 0)) / 1000 / (a.t - b.t) * 100
      rssBytes += a.rssBytes ?? 0
      const written = (e: ChildEvent): number => (e.links ?? []).reduce((sum, l) => sum + l.written, 0)
      bytesWritten += (written(a) - written(b)) / ((a.t - b.t) / 1000)
      const wire = (e: ChildEvent): number => (e.links ?? []).reduce((sum, l) => sum + l.udxBytesSent + UDP_IP_HEADER_BYTES * l.udxPacketsSent, 0)
      wireBytes += (wire(a) - wire(b)) / ((a.t - b.t) / 1000)
    }
    const links = n * (n - 1) / 2

    // Dead peer, then readmission with the same keypair.
    const victim = children[0] as ChildNode
    const victimId = victim.id
    const others = children.slice(1)
    const fromDown = others.map(c => c.events.length)
    const killedT = sharedNow()
    victim.kill9()
    const downs = await Promise.all(others.map((c, i) => c.next('the victim lost', e => e.ev === 'peer-down' && e.id === victimId, { from: fromDown[i], timeoutMs: PHASE_DEADLINE_MS })))
    const deadPeerMs = Math.max(...downs.map(e => e.t)) - killedT

    const fromUp = others.map(c => c.events.length)
    const respawnedT = sharedNow()
    const back = spawn(seeds[0] as Uint8Array, 0)
    children[0] = back
    const ups = await Promise.all(others.map((c, i) => c.next('the victim back', e => e.ev === 'peer-up' && e.id === victimId, { from: fromUp[i], timeoutMs: PHASE_DEADLINE_MS })))
    const readmitMs = Math.max(...ups.map(e => e.t)) - respawnedT

    wireBytesPerLink.set(n, Math.round(wireBytes / links))
    return {
      nodes: n,
      meshMs: Math.round(meshMs),
      fanoutMsP50: round(percentile(fanouts, 50), 2),
      fanoutMsP99: round(percentile(fanouts, 99), 2),
      rssMb: round(rssBytes / n / (1024 * 1024), 1),
      idleCpuPct: round(cpuPct / n, 2),
      idleBytesPerSecPerLink: Math.round(bytesWritten / links),
      deadPeerMs: Math.round(deadPeerMs),
      readmitMs: Math.round(readmitMs)
    }
  } finally {
    await Promise.allSettled(children.map(c => c.close()))
  }
}

function round (v: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(v * f) / f
}

function table (runs: Run[]): string {
  const header = ['nodes', 'mesh ms', 'fan-out p50 ms', 'p99 ms', 'RSS MB', 'idle CPU %', 'idle B/s/link', 'on wire', 'dead peer ms', 'readmit ms']
  const rows = runs.map(r => [r.nodes, r.meshMs, r.fanoutMsP50, r.fanoutMsP99, r.rssMb, r.idleCpuPct, r.idleBytesPerSecPerLink, wireBytesPerLink.get(r.nodes) ?? '-', r.deadPeerMs, r.readmitMs].map(String))
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')
  return [line(header), ...rows.map(line)].join('\n')
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const keys = deriveRoomKeys('watchmesh bench')
  const runs: Run[] = []
  for (const n of args.sizes) {
    const testnet = await startTestnet(3)
    try {
      runs.push(await runOne(n, keys, testnet, args.idleSeconds, args.events))
    } finally {
      await testnet.close()
    }
  }
  if (args.json) process.stdout.write(JSON.stringify({ runs }) + '\n')
  else {
    process.stdout.write(table(runs) + '\n')
    process.stdout.write('idle B/s/link: encrypted stream bytes, both directions; on wire: what UDX sent (headers, acks) + UDP/IP headers\n')
    process.stdout.write('targets: 32 nodes converge; idle <= 200 B/s per link and ~0 % CPU; dead peer noticed in <= 5 s\n')
  }
}

main().catch(err => {
  process.stderr.write(`bench:mesh failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
