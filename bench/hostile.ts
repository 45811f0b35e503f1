/**
 * `npm run bench:hostile [-- --json] [-- --flood-seconds 61]`
 *
 * Attacks on a room, each run the way the mesh tests run (real SwarmMesh peers on a local
 * hyperdht testnet on 127.0.0.1, in this process):
 * - joinUnderFloodMs, floodAttemptsPerSec, memberLogLinesPerMinUnderFlood: a stranger dials one
 *   member from fresh keys (>= 50 a second) and never proves anything; a friend starts meanwhile.
 *   joinUnderFloodMs runs from the friend's start() call until the member has it as a peer
 *   (joinWithoutFloodMs: the same for another friend just before the flood, a baseline); the
 *   attempt rate is what the flood reached; log lines are the member's lines above debug (what a
 *   user sees without --verbose) over the flood, per minute (the flood lasts a minute or more, so
 *   the one-a-minute summary is in it).
 * - honestDropsUnderRelayFlood: three honest members; a member with four admitted links to b sends
 *   600 broadcasts a second for 5 s, signed by 64 invented keys, then by its own key. Counted:
 *   links between honest members dropped by anyone.
 * - heapGrowthMbAfter50kInventedAuthors: a daemon (real Daemon, mesh and engine, no player) takes
 *   media-wait broadcasts from 50,000 invented authors (plus 32 its abuser vouches for in a
 *   neighbour list); heap after GC, after minus before.
 * - timerFiresPerSecFarAnchor: a member (an honest mesh, so clocks are measured) broadcasts a
 *   state anchored 30 days ahead; the daemon's timer wake-ups (engine ticks) per second over 5 s.
 */
import { performance } from 'node:perf_hooks'
import { Writable } from 'node:stream'
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import DHT from 'hyperdht'
import { startTestnet } from '../test/fixtures/testnet.js'
import type { LocalTestnet } from '../test/fixtures/testnet.js'
import { closeAll, createNode, keysFor, waitFor, waitFullMesh } from '../test/mesh/helpers.js'
import type { TestNode } from '../test/mesh/helpers.js'
import { startFlood } from '../test/mesh/flood.js'
import { RawPeer } from '../test/mesh/raw-peer.js'
import type { RawLink } from '../test/mesh/raw-peer.js'
import { signedBroadcast } from '../test/mesh/forge.js'
import { encodeBroadcast, encodeNeighbours } from '../src/mesh/wire.js'
import { encodeSyncMessage } from '../src/sync/codec.js'
import { Daemon } from '../src/daemon/daemon.js'
import { Logger } from '../src/daemon/log.js'
import type { PlayerWatcher, PlayerWatcherEvents } from '../src/player/player.js'
import { processNow } from '../src/clock.js'

const keys = keysFor('movie night')
const log = (msg: string): void => { process.stderr.write(`bench:hostile ${msg}\n`) }

/** The attack rate was ~50 a second; aim above it. */
const FLOOD_PER_SEC = 60
const INVENTED_AUTHORS = 50_000
const DAY_MS = 24 * 3600 * 1000

function parseArgs (argv: string[]): { json: boolean, floodSeconds: number } {
  const i = argv.indexOf('--flood-seconds')
  const floodSeconds = i === -1 ? 61 : Number(argv[i + 1])
  if (!Number.isFinite(floodSeconds) || floodSeconds <= 0) throw new Error('--flood-seconds takes a positive number')
  return { json: argv.includes('--json'), floodSeconds }
}

async function withTestnet<T> (run: (testnet: LocalTestnet, nodes: TestNode[], raws: RawPeer[]) => Promise<T>): Promise<T> {
  const testnet = await startTestnet(3)
  const nodes: TestNode[] = []
  const raws: RawPeer[] = []
  try {
    return await run(testnet, nodes, raws)
  } finally {
    await Promise.allSettled(raws.map(r => r.close()))
    await closeAll(nodes)
    await testnet.close()
  }
}

/** From a friend's start() call until `member` has it as a peer. */
async function joinMs (testnet: LocalTestnet, nodes: TestNode[], member: TestNode, name: string): Promise<number> {
  const friend = createNode(testnet, { name })
  nodes.push(friend)
  const startMs = performance.now()
  await friend.mesh.start()
  await waitFor(`${name} to join`, () => member.mesh.peers().some(p => p.id === friend.mesh.id), { timeoutMs: 60_000, intervalMs: 5 })
  return performance.now() - startMs
}

async function floodScenario (floodSeconds: number): Promise<{ joinWithoutFloodMs: number, joinUnderFloodMs: number, floodAttemptsPerSec: number, memberLogLinesPerMinUnderFlood: number }> {
  return await withTestnet(async (testnet, nodes) => {
    const member = createNode(testnet, { name: 'member', limits: { admissionTimeoutMs: 5000 } })
    nodes.push(member)
    await member.mesh.start()
    // The same join on the same machine without a flood: what the flood adds is the difference.
    const joinWithoutFloodMs = await joinMs(testnet, nodes, member, 'calm friend')
    log(`a friend joined in ${joinWithoutFloodMs.toFixed(0)} ms without a flood`)
    const flood = startFlood(testnet, member.mesh.id, FLOOD_PER_SEC)
    const startedMs = performance.now()
    const linesBefore = member.rec.logs.filter(l => l.level !== 'debug').length
    try {
      await waitFor('the flood to open 100 connections', () => flood.opened >= 100, { timeoutMs: 30_000 })
      const joinUnderFloodMs = await joinMs(testnet, nodes, member, 'friend')
      log(`friend joined in ${joinUnderFloodMs.toFixed(0)} ms under the flood`)
      const restMs = floodSeconds * 1000 - (performance.now() - startedMs)
      if (restMs > 0) await sleep(restMs)
      const elapsedS = (performance.now() - startedMs) / 1000
      const lines = member.rec.logs.filter(l => l.level !== 'debug').length - linesBefore
      for (const l of member.rec.logs.filter(l => l.level !== 'debug').slice(linesBefore)) log(`member: ${l.level}: ${l.msg}`)
      return {
        joinWithoutFloodMs: Math.round(joinWithoutFloodMs),
        joinUnderFloodMs: Math.round(joinUnderFloodMs),
        floodAttemptsPerSec: Math.round(flood.attempts / elapsedS * 10) / 10,
        memberLogLinesPerMinUnderFlood: Math.round(lines / elapsedS * 60 * 10) / 10
      }
    } finally {
      await flood.stop()
    }
  })
}

/** Each link sends `perSec` frames a second of `make(i)` for `ms`. */
async function sendFlood (links: RawLink[], perSec: number, ms: number, make: (i: number) => Uint8Array): Promise<void> {
  let i = 0
  const perTick = Math.ceil(perSec / 50)
  const endMs = performance.now() + ms
  while (performance.now() < endMs) {
    for (const link of links) for (let k = 0; k < perTick; k++) link.send('broadcast', make(i++))
    await sleep(20)
  }
}

async function admittedLinks (testnet: LocalTestnet, raws: RawPeer[], to: string, count: number): Promise<RawLink[]> {
  const links: RawLink[] = []
  for (let i = 0; i < count; i++) {
    const raw = new RawPeer(testnet)
    raws.push(raw)
    const link = await raw.connect(to)
    await link.admit(keys.authKey, `abuser${i}`, new Uint8Array(8).fill(i))
    links.push(link)
  }
  return links
}

async function relayScenario (): Promise<number> {
  return await withTestnet(async (testnet, nodes, raws) => {
    const members = ['a', 'b', 'c'].map(name => createNode(testnet, { name }))
    nodes.push(...members)
    await Promise.all(members.map(m => m.mesh.start()))
    await waitFullMesh(members)
    const b = members[1] as TestNode
    const links = await admittedLinks(testnet, raws, b.mesh.id, 4)
    await sleep(500) // b's neighbour list reaches a and c
    const invented = Array.from({ length: 64 }, () => DHT.keyPair())
    const payload = new TextEncoder().encode('flood')
    await sendFlood(links, 150, 5000, i => encodeBroadcast(signedBroadcast(keys.roomId, invented[i % invented.length] as DHT.KeyPair, i, payload)))
    const own = (raws[0] as RawPeer).keyPair
    await sendFlood(links, 150, 5000, i => encodeBroadcast(signedBroadcast(keys.roomId, own, 1_000_000 + i, payload, new Uint8Array(8).fill(0))))
    await sleep(1000)
    const honest = new Set(members.map(m => m.mesh.id))
    let drops = 0
    for (const m of members) drops += m.rec.downs.filter(d => honest.has(d.peer)).length
    log(`honest links dropped under the relay flood: ${drops}`)
    return drops
  })
}

class NoPlayers extends EventEmitter<PlayerWatcherEvents> implements PlayerWatcher {
  readonly current = null
  readonly notFollowing = 'no player in this benchmark'
  async start (): Promise<void> {}
  async list (): Promise<[]> { return [] }
  async close (): Promise<void> {}
}

const quiet = (): Logger => new Logger({ verbosity: 'quiet', out: new Writable({ write: (_c, _e, cb) => cb() }) })

function heapMb (): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:hostile does)')
  gc()
  gc()
  return process.memoryUsage().heapUsed / (1024 * 1024)
}

async function heapScenario (): Promise<number> {
  return await withTestnet(async (testnet, nodes, raws) => {
    const member = createNode(testnet, { name: 'member' })
    nodes.push(member)
    const daemon = new Daemon({ name: 'member', mesh: member.mesh, watcher: new NoPlayers(), logger: quiet() })
    try {
      await daemon.start()
      const [link] = await admittedLinks(testnet, raws, member.mesh.id, 1) as [RawLink]
      // Its neighbour list vouches for 32 invented keys (members, as far as anyone can tell).
      const vouched = Array.from({ length: 32 }, () => DHT.keyPair())
      link.send('neighbours', encodeNeighbours({ peers: vouched.map(k => k.publicKey) }))
      const wait = (i: number): Uint8Array => encodeSyncMessage({ type: 'media-wait', mediaId: `film-${i}.mkv`, ready: false })
      // Warm-up: one of everything, so the baseline holds the code paths and not only the data.
      link.send('broadcast', encodeBroadcast(signedBroadcast(keys.roomId, DHT.keyPair(), 0, wait(0))))
      await sleep(500)
      const beforeMb = heapMb()
      let i = 0
      while (i < INVENTED_AUTHORS) {
        for (let k = 0; k < 500 && i < INVENTED_AUTHORS; k++, i++) {
          const author = i < vouched.length ? vouched[i] as DHT.KeyPair : DHT.keyPair()
          link.send('broadcast', encodeBroadcast(signedBroadcast(keys.roomId, author, i, wait(i))))
        }
        await sleep(1000) // within the link's relayed-frame budget, so every frame is looked at
      }
      await sleep(1000)
      const growthMb = heapMb() - beforeMb
      log(`heap growth after ${INVENTED_AUTHORS} invented authors: ${growthMb.toFixed(2)} MB (${daemon.status().peers.length} peers in status)`)
      return Math.round(growthMb * 100) / 100
    } finally {
      await daemon.close()
    }
  })
}

async function farAnchorScenario (): Promise<number> {
  return await withTestnet(async (testnet, nodes) => {
    const member = createNode(testnet, { name: 'member' })
    const abuser = createNode(testnet, { name: 'abuser' })
    nodes.push(member, abuser)
    let ticks = 0
    let counting = false
    const daemon = new Daemon({
      name: 'member',
      mesh: member.mesh,
      watcher: new NoPlayers(),
      logger: quiet(),
      trace: line => { if (counting && line.includes('"input":{"type":"tick"')) ticks++ }
    })
    try {
      await daemon.start()
      await abuser.mesh.start()
      await waitFullMesh([member, abuser])
      await sleep(3000) // clock samples both ways: the daemon can place the abuser's clock
      const media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 5_400_000 }
      abuser.mesh.broadcast(encodeSyncMessage({
        type: 'event',
        state: { media, playing: true, positionMs: 0, atMs: processNow() + 30 * DAY_MS, rate: 1, stamp: { lamport: 1, nodeId: abuser.mesh.id } }
      }))
      await sleep(200)
      counting = true
      const windowMs = 5000
      await sleep(windowMs)
      counting = false
      const perSec = ticks / (windowMs / 1000)
      log(`timer wake-ups per second with a state anchored 30 days ahead: ${perSec}`)
      return perSec
    } finally {
      await daemon.close()
    }
  })
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const flood = await floodScenario(args.floodSeconds)
  const honestDropsUnderRelayFlood = await relayScenario()
  const heapGrowthMbAfter50kInventedAuthors = await heapScenario()
  const timerFiresPerSecFarAnchor = await farAnchorScenario()
  const result = { ...flood, honestDropsUnderRelayFlood, heapGrowthMbAfter50kInventedAuthors, timerFiresPerSecFarAnchor }
  if (args.json) {
    process.stdout.write(JSON.stringify(result) + '\n')
    return
  }
  process.stdout.write([
    `friend joins under a flood of ${result.floodAttemptsPerSec} attempts/s in ${result.joinUnderFloodMs} ms (target <= 5000; without a flood ${result.joinWithoutFloodMs} ms)`,
    `member log lines per minute under the flood: ${result.memberLogLinesPerMinUnderFlood} (target <= 60)`,
    `honest links dropped under a relay flood: ${result.honestDropsUnderRelayFlood} (target 0)`,
    `heap growth after ${INVENTED_AUTHORS} invented authors: ${result.heapGrowthMbAfter50kInventedAuthors} MB (target <= 2)`,
    `timer wake-ups per second, state anchored 30 days ahead: ${result.timerFiresPerSecFarAnchor} (target <= 1)`
  ].join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:hostile failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
