/**
 * No match-rule leak: after many attach/detach cycles the bus holds a bounded number of match
 * rules for the watcher's connection. The bus is asked directly (org.freedesktop.DBus.Debug.Stats,
 * compiled into Debian's dbus-daemon), not our own bookkeeping.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { MessageBus } from '@jellybrick/dbus-next'
import { MprisWatcher } from '../../src/player/watcher.js'
import { startBus } from '../fixtures/dbus.js'
import { startFakePlayer } from '../fixtures/fake-mpris.js'
import type { FakePlayer } from '../fixtures/fake-mpris.js'
import { busDaemonCall, connectTestBus } from '../fixtures/mpv.js'
import { waitFor } from '../fixtures/wait.js'

const STATS = 'org.freedesktop.DBus.Debug.Stats'
const CYCLES = 20
const EVENTUALLY_MS = 10_000

async function allRules (client: MessageBus): Promise<Record<string, string[]>> {
  const [rules] = await busDaemonCall(client, 'GetAllMatchRules', '', [], STATS)
  return rules as Record<string, string[]>
}

async function ruleStats (client: MessageBus, conn: string): Promise<{ now: number, peak: number }> {
  const [stats] = await busDaemonCall(client, 'GetConnectionStats', 's', [conn], STATS)
  const s = stats as Record<string, { value: unknown }>
  return { now: Number(s.MatchRules?.value), peak: Number(s.PeakMatchRules?.value) }
}

describe('match rules', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  })

  it(`stay bounded over ${CYCLES} player restarts (the bus counts them)`, async () => {
    const bus = await startBus()
    cleanups.push(async () => await bus.close())
    const client = await connectTestBus(bus.address)
    cleanups.push(() => client.disconnect())
    let fake: FakePlayer = await startFakePlayer({ busAddress: bus.address })
    cleanups.push(async () => await fake.close())

    const watcher = new MprisWatcher({ busAddress: bus.address })
    cleanups.push(async () => await watcher.close())
    await watcher.start()
    assert.ok(watcher.current !== null)

    // The watcher's connection is the one listening for Seeked.
    const rules = await allRules(client)
    const conn = Object.keys(rules).find(c => rules[c]?.some(r => r.includes("member='Seeked'")))
    assert.ok(conn !== undefined, `no connection listens for Seeked: ${JSON.stringify(rules)}`)
    const attachedCount = (await ruleStats(client, conn)).now
    assert.ok(attachedCount >= 3 && attachedCount <= 6, `rules while attached: ${attachedCount}`)

    for (let i = 0; i < CYCLES; i++) {
      const detached = once(watcher, 'detach')
      await fake.close()
      await detached
      const attached = once(watcher, 'attach')
      fake = await startFakePlayer({ busAddress: bus.address })
      await attached
    }
    await waitFor('the last attach to settle its rules', async () => (await ruleStats(client, conn)).now === attachedCount, { timeoutMs: EVENTUALLY_MS })
    const after = await ruleStats(client, conn)
    // Each attach swaps one player's rules for the next one's: never more than two sets at once.
    assert.ok(after.peak <= attachedCount * 2, `peak ${after.peak} rules for ${attachedCount} while attached`)
    // And no rule names a player that is gone.
    const owner = (await busDaemonCall(client, 'GetNameOwner', 's', [fake.busName]))[0]
    const stale = ((await allRules(client))[conn] ?? []).filter(r => /sender=':/.test(r) && !r.includes(`sender='${String(owner)}'`))
    assert.deepEqual(stale, [])
  })
})
