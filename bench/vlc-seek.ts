/**
 * `npm run bench:vlc-seek [-- --runs N] [-- --lead-ms L] [-- --json]`: where a real VLC lands after
 * a re-sync (SetPosition while playing), with the machine quiet and with one core held by a busy
 * loop, in one run. VLC alone (headless, on a private bus, read frame by frame: test/fixtures/vlc.ts)
 * plays; each re-sync aims it 10 s ahead on the line its picture kept in the 1.5 s before, at where
 * that line will be L ms after the command (the lead a re-sync gives the player to get there). Per
 * re-sync:
 * - `landingMs`: the picture against that line 1.5-4 s after the command (ahead: positive);
 * - `firstPictureMs`: when the first picture of the new place arrived, after the command;
 * - `positionLeadMs`: how far VLC's MPRIS Position (read every 20 ms) leads its picture: the most
 *   its reads are ahead of the line, less the picture's landing (the value changes when the picture
 *   crosses it, so its reads at the edges show the lead).
 * The sync engine re-syncs VLC rather than nudging it (docs/sync.md): how closely a re-sync lands is
 * what its bar for re-syncing can be. Needs VLC (as root: the user test/fixtures/vlc.ts runs it as).
 */
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { callMethod, getProperty, asRecord } from '../src/player/dbus.js'
import { MPRIS_PATH, PLAYER_IFACE } from '../src/player/mpris.js'
import { median } from '../sim/stats.js'
import { playingVlcAlone, vlcUnavailable, VLC_BUS_NAME } from '../test/fixtures/vlc.js'
import type { Picture } from '../test/fixtures/vlc.js'
import { trackChild, stopChild } from '../test/fixtures/cleanup.js'
import { runBenchmark, UsageError } from './cli.js'

/** The line the picture kept before a re-sync is taken over this long. */
const BEFORE_MS = 1500
/** Where a re-sync landed is read this long after it, until SETTLED_TO_MS (VLC's first pictures may come in a burst). */
const SETTLED_FROM_MS = 1500
const SETTLED_TO_MS = 4000
/** Between re-syncs, VLC plays on undisturbed this long. */
const BETWEEN_MS = 1000
/** Each re-sync jumps this far ahead, as a re-sync to a room far ahead would (a keyframe far off). */
const JUMP_MS = 10_000
/** The picture is looked at this often (VLC shows 25 frames a second); Position read this often. */
const LOOK_EVERY_MS = 2
const READ_EVERY_MS = 20
/** A picture within this of the target is the new place's. */
const NEW_PLACE_MS = 5000
const MAX_RUNS = 10
const MEDIA_SECONDS = 2 * MAX_RUNS * (JUMP_MS + SETTLED_TO_MS + BETWEEN_MS) / 1000 + 120
/** The busy loop takes this long to be scheduled before the busy half starts. */
const BUSY_SETTLE_MS = 1000

interface Args { runs: number, leadMs: number, json: boolean }

function parseArgs (argv: string[]): Args {
  const args: Args = { runs: 8, leadMs: 80, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--runs') args.runs = Number(argv[++i])
    else if (a === '--lead-ms') args.leadMs = Number(argv[++i])
    else throw new UsageError(`unknown argument ${String(a)}; use --runs N, --lead-ms L, --json`)
  }
  if (!Number.isInteger(args.runs) || args.runs < 1 || args.runs > MAX_RUNS) throw new UsageError(`--runs must be a whole number from 1 to ${MAX_RUNS}`)
  if (!Number.isFinite(args.leadMs) || args.leadMs < 0 || args.leadMs > 1000) throw new UsageError('--lead-ms must be a number of ms from 0 to 1000')
  return args
}

interface Read { valueMs: number, atMs: number }
interface Run { landingMs: number, firstPictureMs: number | null, positionLeadMs: number | null }

/** VLC's MPRIS Position every READ_EVERY_MS, stamped at the middle of each call, until `stop()`. */
function watchPosition (read: () => Promise<number>): { reads: Read[], stop: () => Promise<void> } {
  const reads: Read[] = []
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const before = performance.now()
      const valueMs = await read()
      reads.push({ valueMs, atMs: (before + performance.now()) / 2 })
      await sleep(READ_EVERY_MS)
    }
  })()
  return { reads, stop: async () => { stopped = true; await done } }
}

/** A busy loop in a child process (one core held), until stopped. */
async function holdOneCore (): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })
  trackChild(child)
  await sleep(BUSY_SETTLE_MS)
  return async () => { await stopChild(child) }
}

function summary (xs: Array<number | null>): { p50: number | null, min: number | null, max: number | null } {
  const ys = xs.filter((x): x is number => x !== null)
  const round = (x: number): number => Math.round(x * 10) / 10
  return ys.length === 0 ? { p50: null, min: null, max: null } : { p50: round(median(ys)), min: round(Math.min(...ys)), max: round(Math.max(...ys)) }
}

async function main (args: Args): Promise<number> {
  const why = await vlcUnavailable()
  if (why !== null) {
    process.stderr.write(`bench:vlc-seek: ${why}\n`)
    return 1
  }
  const phases: Record<'quiet' | 'busy', Run[]> = { quiet: [], busy: [] }
  await playingVlcAlone({ seconds: MEDIA_SECONDS, lookEveryMs: LOOK_EVERY_MS }, async ({ conn, pictures }) => {
    const position = watchPosition(async () => Number(await getProperty(conn, VLC_BUS_NAME, MPRIS_PATH, PLAYER_IFACE, 'Position')) / 1000)
    try {
      await sleep(BEFORE_MS + BETWEEN_MS)
      const metadata = asRecord(await getProperty(conn, VLC_BUS_NAME, MPRIS_PATH, PLAYER_IFACE, 'Metadata'))
      const trackId = String(metadata?.['mpris:trackid'])
      const resync = async (): Promise<Run> => {
        const sentAtMs = performance.now()
        const before = pictures.filter(p => p.atMs >= sentAtMs - BEFORE_MS)
        if (before.length === 0) throw new Error('VLC showed no picture before the re-sync')
        // The line: the newest picture of the window is on time when it arrives.
        const baseMs = Math.max(...before.map(p => p.positionMs - p.atMs))
        const lineMs = (atMs: number): number => atMs + baseMs + JUMP_MS
        const targetMs = lineMs(sentAtMs + args.leadMs)
        await callMethod(conn, { destination: VLC_BUS_NAME, path: MPRIS_PATH, iface: PLAYER_IFACE, member: 'SetPosition', signature: 'ox', body: [trackId, BigInt(Math.round(targetMs * 1000))] })
        await sleep(SETTLED_TO_MS)
        const settled = (xs: Array<Picture | Read>): Array<Picture | Read> => xs.filter(x => x.atMs >= sentAtMs + SETTLED_FROM_MS && x.atMs < sentAtMs + SETTLED_TO_MS)
        const landings = settled(pictures).map(p => (p as Picture).positionMs - lineMs(p.atMs))
        if (landings.length === 0) throw new Error('VLC showed no picture after the re-sync')
        const landingMs = Math.max(...landings)
        const reads = settled(position.reads).map(r => (r as Read).valueMs - lineMs(r.atMs))
        const first = pictures.find(p => p.atMs > sentAtMs && Math.abs(p.positionMs - targetMs) < NEW_PLACE_MS)
        await sleep(BETWEEN_MS)
        return { landingMs, firstPictureMs: first === undefined ? null : first.atMs - sentAtMs, positionLeadMs: reads.length === 0 ? null : Math.max(...reads) - landingMs }
      }
      for (const phase of ['quiet', 'busy'] as const) {
        const release = phase === 'busy' ? await holdOneCore() : null
        try {
          for (let i = 0; i < args.runs; i++) {
            const run = await resync()
            phases[phase].push(run)
            process.stderr.write(`  ${phase} ${i + 1}: landed ${run.landingMs.toFixed(0)} ms from the line; first picture of the new place at +${run.firstPictureMs?.toFixed(0) ?? '-'} ms; Position leads the picture by ${run.positionLeadMs?.toFixed(0) ?? '-'} ms\n`)
          }
        } finally {
          await release?.()
        }
      }
    } finally {
      await position.stop()
    }
  })
  const figures = (runs: Run[]) => ({
    landingMs: summary(runs.map(r => r.landingMs)),
    firstPictureMs: summary(runs.map(r => r.firstPictureMs)),
    positionLeadMs: summary(runs.map(r => r.positionLeadMs))
  })
  const result = { leadMs: args.leadMs, runs: args.runs, quiet: figures(phases.quiet), busy: figures(phases.busy) }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    process.stdout.write(`VLC re-synced ${args.runs} times quiet, ${args.runs} with a busy core (lead ${args.leadMs} ms):\n`)
    for (const phase of ['quiet', 'busy'] as const) {
      const f = result[phase]
      process.stdout.write(`  ${phase.padEnd(5)} landed ${String(f.landingMs.min)}..${String(f.landingMs.max)} ms from the line (p50 ${String(f.landingMs.p50)}); first picture at +${String(f.firstPictureMs.p50)} ms (p50); Position leads the picture by ${String(f.positionLeadMs.min)}..${String(f.positionLeadMs.max)} ms\n`)
    }
  }
  return 0
}

runBenchmark('bench:vlc-seek', parseArgs, main)
