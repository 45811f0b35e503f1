/** Small helpers shared by the player tests. */
import { basename } from 'node:path'
import type { Player, UserEvent } from '../../src/player/player.js'
import type { MpvProcess } from '../fixtures/mpv.js'
import type { Subject } from './contract.js'
import { waitFor } from '../fixtures/wait.js'
import { connectBus } from '../../src/player/dbus.js'
import { MprisPlayer } from '../../src/player/mpris.js'
import { startBus } from '../fixtures/dbus.js'
import { startFakePlayer } from '../fixtures/fake-mpris.js'
import type { FakePlayer, FakePlayerOptions } from '../fixtures/fake-mpris.js'

export interface EventLog {
  events: UserEvent[]
  kinds (): string[]
  /** Waits (deadline, not a measurement) until `n` events have arrived in total. */
  waitForCount (n: number, timeoutMs?: number): Promise<UserEvent[]>
}

export function recordUserEvents (player: Player): EventLog {
  const events: UserEvent[] = []
  player.on('user', ev => events.push(ev))
  return {
    events,
    kinds: () => events.map(e => e.kind),
    async waitForCount (n, timeoutMs = 5_000) {
      await waitFor(`${n} user events (have ${events.length}: ${events.map(e => e.kind).join(',')})`, () => events.length >= n, { timeoutMs })
      return events
    }
  }
}

export function near (actual: number, expected: number, toleranceMs: number): boolean {
  return Math.abs(actual - expected) <= toleranceMs
}

/** Runs `steps` in order, undoing what was done (in reverse) if a later step fails. */
export async function build<T> (steps: (onClose: (fn: () => Promise<void> | void) => void) => Promise<T>): Promise<T & { close: () => Promise<void> }> {
  const closers: Array<() => Promise<void> | void> = []
  const close = async (): Promise<void> => {
    for (const fn of closers.splice(0).reverse()) await Promise.resolve(fn()).catch(() => {})
  }
  try {
    return { ...(await steps(fn => closers.push(fn))), close }
  } catch (err) {
    await close()
    throw err
  }
}

/** A real mpv's own view (time-pos, pause, speed) and its own input, over its JSON IPC, for the contract suite. */
export function mpvAsUser (mpv: MpvProcess, otherFile: string): Pick<Subject, 'truth' | 'user'> {
  return {
    truth: {
      positionMs: async () => await mpv.timePosMs(),
      playing: async () => (await mpv.command(['get_property', 'pause'])) === false,
      rate: async () => Number(await mpv.command(['get_property', 'speed']))
    },
    user: {
      play: async () => { await mpv.command(['set_property', 'pause', false]) },
      pause: async () => { await mpv.command(['set_property', 'pause', true]) },
      seek: async (ms: number) => { await mpv.command(['seek', ms / 1000, 'absolute']) },
      setRate: async (rate: number) => { await mpv.command(['set_property', 'speed', rate]) },
      load: async () => {
        await mpv.command(['loadfile', otherFile])
        return basename(otherFile)
      }
    }
  }
}

export type Cleanups = Array<() => Promise<void> | void>

/** A fake MPRIS player on a private bus and an attached MprisPlayer; everything is undone by `cleanups`. */
export async function fakeMprisPlayer (opts: Omit<FakePlayerOptions, 'busAddress'>, cleanups: Cleanups): Promise<{ fake: FakePlayer, player: MprisPlayer }> {
  const bus = await startBus()
  cleanups.push(async () => await bus.close())
  const fake = await startFakePlayer({ busAddress: bus.address, ...opts })
  cleanups.push(async () => await fake.close())
  const conn = await connectBus(bus.address, () => {})
  cleanups.push(() => conn.disconnect())
  const player = new MprisPlayer({ bus: conn, busName: fake.busName })
  cleanups.push(async () => await player.close())
  await player.start()
  return { fake, player }
}
