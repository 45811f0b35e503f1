/**
 * The room over emulated networks: each scenario of test/net/room.ts (delay, jitter, loss,
 * asymmetry, a relay) with one `watchmesh dht` bootstrap node in a namespace of its own and three
 * viewers in theirs. The mesh forms; after each user action (resume, pause, seek by different
 * viewers) every player reaches the new state and the players settle within one frame.
 * Skipped where network namespaces cannot be made (needs root, /dev/net/tun, iproute2, python3).
 *
 * Each scenario's room (its bed, bootstrap node, players and daemons, and the mesh they form: mostly
 * waiting on emulated links and DHT lookups) starts while the previous scenario's actions play out,
 * once that room's own mesh has formed, so no two rooms are starting at once.
 */
import { after, test } from 'node:test'
import { netBedUnavailable } from './bed.js'
import { FOLLOW_DEADLINE_MS, NetRoom, SCENARIOS, TEST_STEPS } from './room.js'
import { waitFor } from '../fixtures/wait.js'

const unavailable = netBedUnavailable()
if (unavailable !== null) console.log(`# network test bed skipped: ${unavailable}`)

/** A viewer cut off from `author` never connected to it, yet knows it from the relayed event. */
async function assertHeardThroughRelay (room: NetRoom, author: string): Promise<void> {
  for (const [a, b] of room.scenario.cut ?? []) {
    const other = a === author ? b : b === author ? a : null
    if (other === null) continue
    let peers: unknown = null
    // Retried: on a loaded machine a `watchmesh status` process can take longer than its own timeout.
    await waitFor(`${other} listing ${author} as heard through a relay`, async () => {
      const authorKey = (await room.viewer(author).status()).key
      const seen = (await room.viewer(other).status()).peers
      peers = seen
      return seen.some(p => p.key === authorKey && !p.direct)
    }, { timeoutMs: FOLLOW_DEADLINE_MS }).catch((err: Error) => { throw new Error(`${err.message}; its last peers: ${JSON.stringify(peers)}`) })
  }
}

const rooms = SCENARIOS.map(scenario => new NetRoom(scenario, `net ${scenario.name}: tavoki-ramelu-sopina`))
const starts = new Map<number, Promise<void>>()

/** Room i's start, begun on the first call; its failure is the failure of room i's test. */
async function startRoom (i: number): Promise<void> {
  let started = starts.get(i)
  if (started === undefined) {
    started = (rooms[i] as NetRoom).start()
    started.catch(() => {})
    starts.set(i, started)
  }
  await started
}

// A room started early whose test did not run (a --test-name-pattern left it out) is closed too.
after(async () => {
  await Promise.allSettled(rooms.map(async (room, i) => {
    await starts.get(i)?.catch(() => {})
    await room.close()
  }))
})

for (const [i, scenario] of SCENARIOS.entries()) {
  test(`${scenario.name} (${scenario.about}): one bootstrap node, the mesh forms, every action lands within one frame`, { skip: unavailable ?? false }, async () => {
    const room = rooms[i] as NetRoom
    try {
      await startRoom(i)
      if (i + 1 < rooms.length) startRoom(i + 1).catch(() => {})
      for (const step of TEST_STEPS) {
        const what = `${step.by} ${step.kind}${step.toS === undefined ? '' : ` to ${step.toS} s`}`
        await room.perform(step)
        await room.waitFor(`every player after ${what}`, async () => await room.reached(step), FOLLOW_DEADLINE_MS)
        await assertHeardThroughRelay(room, step.by)
        const skews = await room.inStep(`after ${what}`)
        console.log(`# ${scenario.name}: ${what}: in step, skews seen ${skews.map(s => s.toFixed(1)).join(', ')} ms`)
      }
    } finally {
      if (process.env.WATCHMESH_TEST_LOGS === '1') {
        for (const v of room.viewers) console.log(v.daemon?.lines.map(l => `# [${v.name}] ${l}`).join('\n'))
      }
      await room.close()
    }
  })
}
