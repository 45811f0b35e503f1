/**
 * `npm run bench:vlc-rate [-- --rate R] [-- --hold-ms H] [-- --runs N] [-- --json]`: does a short
 * rate change move a real VLC along its media? VLC alone (headless, on a private bus, read frame by
 * frame: test/fixtures/vlc.ts) plays; each run sets its Rate to R over MPRIS, holds it H ms, sets 1
 * again, and follows the picture for 4 s. The picture's offset is measured against the line it kept
 * in the 1.5 s before the change (the newest picture of each window: a frame is on time when it
 * arrives). Per run: what the change should have moved it by ((R - 1) x H), where it is 3-4 s after
 * the change back (`netMs`), and the furthest it went either way meanwhile (`lowMs`, `highMs`).
 * A player that follows a short change (mpv does) ends where it should; the sync engine's moves
 * (docs/sync.md) assume one that does. Needs VLC (as root: the user test/fixtures/vlc.ts runs it as).
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { setProperty } from '../src/player/dbus.js'
import { MPRIS_PATH, PLAYER_IFACE } from '../src/player/mpris.js'
import { median } from '../sim/stats.js'
import { playingVlcAlone, vlcUnavailable, VLC_BUS_NAME } from '../test/fixtures/vlc.js'
import type { Picture } from '../test/fixtures/vlc.js'
import { runBenchmark, UsageError } from './cli.js'

/** The line before a change is fitted over this long. */
const BEFORE_MS = 1500
/** After the change back, the picture is followed this long; where it rests is read in the last second. */
const AFTER_MS = 4000
const REST_WINDOW_MS = 1000
/** Between runs, VLC plays on undisturbed this long (its picture settles after a change). */
const BETWEEN_MS = 2000
/** The picture is looked at this often (VLC shows 25 frames a second). */
const LOOK_EVERY_MS = 2
/** Each run takes ~8 s of the film; the longest set of runs stays well inside it. */
const MAX_RUNS = 20
const MEDIA_SECONDS = 300

interface Args { rate: number, holdMs: number, runs: number, json: boolean }

function parseArgs (argv: string[]): Args {
  const args: Args = { rate: 0.96, holdMs: 500, runs: 5, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--rate') args.rate = Number(argv[++i])
    else if (a === '--hold-ms') args.holdMs = Number(argv[++i])
    else if (a === '--runs') args.runs = Number(argv[++i])
    else throw new UsageError(`unknown argument ${String(a)}; use --rate R, --hold-ms H, --runs N, --json`)
  }
  if (!Number.isFinite(args.rate) || args.rate < 0.25 || args.rate > 4 || args.rate === 1) throw new UsageError('--rate must be a number from 0.25 to 4, not 1')
  if (!Number.isFinite(args.holdMs) || args.holdMs < 100 || args.holdMs > 10_000) throw new UsageError('--hold-ms must be a number of ms from 100 to 10000')
  if (!Number.isInteger(args.runs) || args.runs < 1 || args.runs > MAX_RUNS) throw new UsageError(`--runs must be a whole number from 1 to ${MAX_RUNS}`)
  return args
}

interface Run { expectedMs: number, netMs: number, lowMs: number, highMs: number }

/** The run's figures from the pictures around a change made at `changeAtMs` and undone at `backAtMs`. */
function measure (pictures: Picture[], changeAtMs: number, backAtMs: number, expectedMs: number): Run {
  // Offset of each picture from the line through the newest one before the change, at rate 1.
  const before = pictures.filter(p => p.atMs >= changeAtMs - BEFORE_MS && p.atMs < changeAtMs)
  if (before.length === 0) throw new Error('VLC showed no picture before the change')
  const offset = (p: Picture): number => p.positionMs - p.atMs
  const baseMs = Math.max(...before.map(offset))
  const after = pictures.filter(p => p.atMs >= changeAtMs && p.atMs < backAtMs + AFTER_MS).map(p => ({ atMs: p.atMs, offMs: offset(p) - baseMs }))
  const resting = after.filter(p => p.atMs >= backAtMs + AFTER_MS - REST_WINDOW_MS)
  if (resting.length === 0) throw new Error('VLC showed no picture after the change')
  return {
    expectedMs,
    netMs: Math.max(...resting.map(p => p.offMs)),
    lowMs: Math.min(...after.map(p => p.offMs)),
    highMs: Math.max(...after.map(p => p.offMs))
  }
}

async function main (args: Args): Promise<number> {
  const why = await vlcUnavailable()
  if (why !== null) {
    process.stderr.write(`bench:vlc-rate: ${why}\n`)
    return 1
  }
  const runs: Run[] = []
  await playingVlcAlone({ seconds: MEDIA_SECONDS, lookEveryMs: LOOK_EVERY_MS }, async ({ conn, pictures }) => {
    const setRate = async (rate: number): Promise<void> => await setProperty(conn, VLC_BUS_NAME, MPRIS_PATH, PLAYER_IFACE, 'Rate', 'd', rate)
    await sleep(BEFORE_MS + BETWEEN_MS)
    for (let i = 0; i < args.runs; i++) {
      const changeAtMs = performance.now()
      await setRate(args.rate)
      await sleep(args.holdMs)
      const backAtMs = performance.now()
      await setRate(1)
      await sleep(AFTER_MS + BETWEEN_MS)
      const run = measure(pictures, changeAtMs, backAtMs, (args.rate - 1) * (backAtMs - changeAtMs))
      runs.push(run)
      process.stderr.write(`  run ${i + 1}: rate ${args.rate} for ${(backAtMs - changeAtMs).toFixed(0)} ms should move it ${run.expectedMs.toFixed(0)} ms; it ended ${run.netMs.toFixed(0)} ms from where it was, going ${run.lowMs.toFixed(0)}..${run.highMs.toFixed(0)} ms meanwhile\n`)
    }
  })
  const round = (x: number): number => Math.round(x * 10) / 10
  const result = {
    rate: args.rate,
    holdMs: args.holdMs,
    runs: runs.map(r => ({ expectedMs: round(r.expectedMs), netMs: round(r.netMs), lowMs: round(r.lowMs), highMs: round(r.highMs) })),
    // How much of the intended move stayed: 1 for a player that follows the change, ~0 for one that goes back.
    keptShareP50: Math.round(median(runs.map(r => r.netMs / r.expectedMs)) * 100) / 100
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else process.stdout.write(`VLC, rate ${args.rate} for ${args.holdMs} ms, ${runs.length} runs: median share of the intended move kept ${result.keptShareP50} (1: it follows; 0: it goes back)\n`)
  return 0
}

runBenchmark('bench:vlc-rate', parseArgs, main)
