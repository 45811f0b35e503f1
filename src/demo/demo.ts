/**
 * `watchmesh demo`: the whole product on one machine, no internet. A local Hyperswarm testnet on
 * 127.0.0.1, three viewers (real mpv on private D-Bus buses when this machine has mpv and mpv-mpris,
 * else the built-in simulated player), each with a real watchmesh daemon and mesh. A script acts
 * as the users — play, pause, seek from different viewers, one viewer leaving and coming back — and
 * after each step the skew between the players is measured from the players' own clocks.
 */
import { randomBytes } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Writable } from 'node:stream'
import createTestnet from 'hyperdht/testnet.js'
import { Daemon } from '../daemon/daemon.js'
import { formatTimecode } from '../daemon/format.js'
import { Logger } from '../daemon/log.js'
import { deriveRoomKeys } from '../mesh/keys.js'
import { SwarmMesh } from '../mesh/swarm-mesh.js'
import type { PlayerWatcher } from '../player/player.js'
import { MprisWatcher } from '../player/watcher.js'
import { canUseMpv, encodeMedia, readMpv, startBus, startMpv } from './processes.js'
import type { Mpv } from './processes.js'
import { SimulatedPlayer, StaticWatcher } from './simulated-player.js'
import { maxSkewMs } from './skew.js'
import type { Reading } from './skew.js'
import { processNow } from '../clock.js'

const NAMES = ['alice', 'bob', 'carol'] as const
const MEDIA_SECONDS = 180
/** Deadline for every viewer to reach the state a step asks for (a demo must never hang). */
const STEP_DEADLINE_MS = 10_000
/** One frame at 25 fps: the skew a step must come within once drift correction has done its work. */
const IN_STEP_MS = 40
/**
 * Measurements in a row within IN_STEP_MS that make a step steady (each averages ~0.4 s of reads):
 * one could catch a drifting pair at a lucky moment. On a busy machine correction takes longer,
 * so the demo waits for this rather than a fixed time (up to STEP_DEADLINE_MS).
 */
const STEADY_MEASUREMENTS = 3
/** How often the script looks at the players while waiting for a step to land. */
const WATCH_INTERVAL_MS = 5
/** Wide enough for the longest step ("carol jumps back to 00:00:30 (playing)"). */
const STEP_COLUMN = 40

export interface DemoOptions {
  out: Writable
  /** 'auto': real mpv when available. */
  player: 'auto' | 'mpv' | 'simulated'
  /** Show every daemon's own log lines, prefixed with the viewer's name. */
  verbose: boolean
}

export interface DemoStep {
  step: string
  /** User action → every player in the new state (null: the step is not an action). */
  followedMs: number | null
  /** The worst of the steady measurements (of the last ones, if the step never became steady). */
  skewMs: number
  /** Landed → STEADY_MEASUREMENTS in a row within one frame; null if not within STEP_DEADLINE_MS. */
  settledMs: number | null
}

/** What `watchmesh demo --json` prints. */
export interface DemoResult {
  players: 'mpv' | 'simulated'
  /** Start of the three daemons → every one sees the two others. */
  meshMs: number
  steps: DemoStep[]
  worstSkewMs: number
}

interface DemoViewer {
  name: string
  seed: Uint8Array
  daemon: Daemon | null
  watcher: () => PlayerWatcher
  read: () => Promise<Reading>
  act: (kind: 'play' | 'pause' | 'seek', positionMs?: number) => Promise<void>
  close: () => Promise<void>
}

export async function runDemo (opts: DemoOptions): Promise<DemoResult> {
  const say = (line: string): void => { opts.out.write(line + '\n') }
  const useMpv = opts.player === 'mpv' || (opts.player === 'auto' && await canUseMpv())
  if (opts.player === 'mpv' && !(await canUseMpv())) throw new Error('--player mpv needs mpv, mpv-mpris and dbus-daemon installed')
  const dir = await mkdtemp(join(tmpdir(), 'watchmesh-demo-'))
  const cleanups: Array<() => Promise<void>> = [async () => { await rm(dir, { recursive: true, force: true }) }]
  const steps: DemoStep[] = []
  try {
    say('watchmesh demo: three viewers on this machine, a private Hyperswarm DHT on 127.0.0.1, no internet.')
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    cleanups.push(async () => { await testnet.destroy() })
    const bootstrap = testnet.bootstrap.map(({ host, port }) => ({ host, port }))
    say(`  DHT testnet:  ${bootstrap.map(b => `${b.host}:${b.port}`).join(', ')}`)

    const viewers: DemoViewer[] = []
    if (useMpv) {
      const file = join(dir, 'demo.mkv')
      say(`  players:      real mpv + mpv-mpris, each on its own private D-Bus bus (making a ${MEDIA_SECONDS / 60}-minute test video...)`)
      await encodeMedia(file, MEDIA_SECONDS)
      for (const name of NAMES) viewers.push(await mpvViewer(name, dir, file, cleanups))
    } else {
      say('  players:      the built-in simulated player (install mpv and mpv-mpris to see real players)')
      for (const name of NAMES) viewers.push(simulatedViewer(name, cleanups))
    }

    const keys = deriveRoomKeys(`watchmesh demo ${randomBytes(8).toString('hex')}`)
    const enter = async (v: DemoViewer): Promise<void> => {
      const logger = new Logger({ verbosity: opts.verbose ? 'normal' : 'quiet', out: opts.out, prefix: `[${v.name}] ` })
      const mesh = new SwarmMesh({ keys, name: v.name, seed: v.seed, bootstrap, host: '127.0.0.1' })
      // WATCHMESH_TRACE=<file>: each viewer's engine steps go to <file>.<name> (as with `join`).
      const tracePath = process.env.WATCHMESH_TRACE
      const trace = tracePath === undefined || tracePath === '' ? undefined : (line: string) => { appendFileSync(`${tracePath}.${v.name}`, line + '\n') }
      v.daemon = new Daemon({ name: v.name, mesh, watcher: v.watcher(), logger, trace })
      await v.daemon.start()
    }
    const leave = async (v: DemoViewer): Promise<void> => {
      await v.daemon?.close()
      v.daemon = null
    }
    cleanups.push(async () => { await Promise.allSettled(viewers.map(leave)) })

    const started = performance.now()
    await Promise.all(viewers.map(enter))
    await waitUntil('everyone to see everyone', async () => viewers.every(v => v.daemon?.status().peers.length === viewers.length - 1))
    const meshMs = performance.now() - started
    say(`  mesh:         ${viewers.length} viewers connected to each other in ${meshMs.toFixed(0)} ms`)
    say('')
    say(`  ${'step'.padEnd(STEP_COLUMN)} ${'followed in'.padStart(12)} ${'steady in'.padStart(12)} ${'skew'.padStart(10)}`)

    const record = async (step: string, followedMs: number | null, among = viewers): Promise<void> => {
      const { skewMs, settledMs } = await steadySkew(among.map(v => v.read))
      steps.push({ step, followedMs, skewMs, settledMs })
      const followed = followedMs === null ? '-' : `${followedMs.toFixed(0)} ms`
      const settled = settledMs === null ? 'never' : `${settledMs.toFixed(0)} ms`
      say(`  ${step.padEnd(STEP_COLUMN)} ${followed.padStart(12)} ${settled.padStart(12)} ${`${skewMs.toFixed(1)} ms`.padStart(10)}`)
    }
    const action = async (step: string, actor: DemoViewer, kind: 'play' | 'pause' | 'seek', landed: (r: Reading) => boolean, positionMs?: number, among = viewers): Promise<void> => {
      const t0 = performance.now()
      await actor.act(kind, positionMs)
      await waitUntil(step, async () => (await Promise.all(among.map(async v => landed(await v.read())))).every(Boolean))
      await record(step, performance.now() - t0, among)
    }

    const [alice, bob, carol] = viewers as [DemoViewer, DemoViewer, DemoViewer]
    await action('alice presses play', alice, 'play', r => r.playing)
    await action('bob pauses', bob, 'pause', r => !r.playing)
    await action('carol jumps to 00:01:00', carol, 'seek', r => Math.abs(r.positionMs - 60_000) < 45, 60_000)
    await action('alice presses play', alice, 'play', r => r.playing)
    await action('carol jumps back to 00:00:30 (playing)', carol, 'seek', r => r.playing && Math.abs(r.positionMs - 30_000) < 2000, 30_000)

    await leave(bob)
    await record('bob leaves; alice and carol play on', null, [alice, carol])
    const back = performance.now()
    await enter(bob)
    await waitUntil('bob to rejoin', async () => bob.daemon?.status().peers.length === 2)
    const rejoinedMs = performance.now() - back
    await waitUntil('bob in step', async () => await maxSkewMs([alice.read, bob.read], 6) < 40)
    await record(`bob comes back (mesh in ${rejoinedMs.toFixed(0)} ms)`, performance.now() - back)

    await action('carol pauses', carol, 'pause', r => !r.playing)
    const position = (await alice.read()).positionMs
    say('')
    const worstSkewMs = Math.max(...steps.map(s => s.skewMs))
    say(`  everyone paused at ${formatTimecode(position)}; worst skew over the run: ${worstSkewMs.toFixed(1)} ms`)
    say(`  (followed in: user action until every player shows it; steady in: until ${STEADY_MEASUREMENTS} skew measurements in a row are`)
    say(`  within one frame; skew: the worst of those, the max difference between players, from their own clocks)`)
    return { players: useMpv ? 'mpv' : 'simulated', meshMs, steps, worstSkewMs }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  }
}

/**
 * Measures until STEADY_MEASUREMENTS in a row are within IN_STEP_MS, or STEP_DEADLINE_MS passes
 * (then settledMs is null and the skew is the worst of the last measurements).
 */
async function steadySkew (readers: Array<() => Promise<Reading>>): Promise<{ skewMs: number, settledMs: number | null }> {
  const started = performance.now()
  const steady: number[] = []
  for (;;) {
    const skewMs = await maxSkewMs(readers)
    if (skewMs <= IN_STEP_MS) steady.push(skewMs)
    else steady.length = 0
    if (steady.length >= STEADY_MEASUREMENTS) return { skewMs: Math.max(...steady), settledMs: performance.now() - started }
    if (performance.now() - started > STEP_DEADLINE_MS) return { skewMs: Math.max(skewMs, ...steady), settledMs: null }
  }
}

async function waitUntil (what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + STEP_DEADLINE_MS
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`)
    await sleep(WATCH_INTERVAL_MS)
  }
}

async function mpvViewer (name: string, root: string, file: string, cleanups: Array<() => Promise<void>>): Promise<DemoViewer> {
  const dir = await mkdtemp(join(root, `${name}-`))
  const bus = await startBus(dir)
  cleanups.push(async () => { await bus.close() })
  const mpv: Mpv = await startMpv({ busAddress: bus.address, file, ipcPath: join(dir, 'mpv.ipc') })
  cleanups.push(async () => { await mpv.close() })
  const command = async (args: unknown[]): Promise<unknown> => await mpv.command(args)
  return {
    name,
    seed: randomBytes(32),
    daemon: null,
    watcher: () => new MprisWatcher({ busAddress: bus.address }),
    read: async () => await readMpv(command),
    act: async (kind, positionMs) => {
      if (kind === 'seek') await command(['seek', (positionMs ?? 0) / 1000, 'absolute+exact'])
      else await command(['set_property', 'pause', kind === 'pause'])
    },
    close: async () => { await mpv.close(); await bus.close() }
  }
}

function simulatedViewer (name: string, cleanups: Array<() => Promise<void>>): DemoViewer {
  const player = new SimulatedPlayer({
    name,
    media: { id: 'demo.mkv', name: 'demo.mkv', title: 'watchmesh demo', url: null, lengthMs: MEDIA_SECONDS * 1000 }
  })
  cleanups.push(async () => { await player.close() })
  return {
    name,
    seed: randomBytes(32),
    daemon: null,
    watcher: () => new StaticWatcher(player),
    read: async () => {
      const atMs = processNow() // the player's own clock: the daemon's (see src/clock.ts)
      return { positionMs: player.positionMs(atMs), atMs, playing: player.isPlaying() }
    },
    act: async (kind, positionMs) => { await player.userAction(kind, positionMs) },
    close: async () => { await player.close() }
  }
}
