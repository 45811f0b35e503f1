/**
 * `npm run soak [-- --minutes 60] [-- --warmup M] [-- --json] [-- --samples FILE]`: one three-viewer room (real mpv
 * with mpv-mpris on private buses, real `watchmesh join` daemons, a local testnet) left playing,
 * then paused, while every daemon's RSS and CPU time (from /proc, outside the daemon) and JS heap
 * (`memory` of its status) are sampled.
 *
 * Reported per daemon: RSS and heap at the start and end, growth per hour (least-squares slope
 * after a warm-up; target <= 1 MB/h; RSS also over the late half of the playing phase alone), the
 * heap's floor, with and without V8's compiled code (which grows as functions get optimised), the
 * heap right after the daemon's full collections (what is alive: where a leak shows) and that heap
 * without V8's code, bytecode and their metadata (the data alone, which JIT warm-up does not move), CPU % of one
 * core while playing and while idle (paused). RSS is also split as the kernel counts it: anonymous
 * memory (where a leak grows) and file-backed pages (node's binary and libraries, faulted in as new
 * code paths first run), with the daemon's thread count.
 * V8 compiles and optimises functions for many minutes: its code grows in steps while the data
 * stays flat. The minute after which compiled code stops growing is reported (codeSettledMinutes),
 * with RSS and heap fitted from then on, so warm-up and a leak can be told apart in the figures.
 * With --json, exactly one JSON object is printed on stdout (progress goes to stderr).
 * `--refit FILE` summarises a file written by --samples again (no room is run): the same figures
 * for a run already made, e.g. one made before a figure was added.
 * `--warmup M`: growth is fitted from minute M of playing on (a twelfth of the run if not given), e.g. a
 * longer run whose fitted hour starts once V8 has sized its heap; with --refit, a run already made is
 * fitted again from there.
 * `--baseline`: the last daemon runs on node without the CLI's own flags (bin/watchmesh.js: V8's
 * default young generation), as every daemon did before; it is reported apart (`baseline`), outside
 * the figures checked against the target, so a run compares the two on one machine at one time.
 */
import { performance } from 'node:perf_hooks'
import { appendFile, readFile, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { maxSkewMs } from '../test/fixtures/skew.js'
import { waitFor } from '../test/fixtures/wait.js'
import type { Viewer } from '../test/fixtures/viewer.js'
import { sampleProc, slope } from '../test/fixtures/proc.js'
import { daemonStatus, openRoom } from '../test/fixtures/bench-room.js'
import { NODE_FLAGS } from '../test/fixtures/watchmesh.js'
import { MEDIA_MAX_S } from '../test/fixtures/media.js'
import { runBenchmark, UsageError } from './cli.js'

const NAMES = ['alice', 'bob', 'carol']
const PASSPHRASE = 'soak: lomira-tesuka-vanodi'
const DEFAULT_MINUTES = 60
const SAMPLE_EVERY_MS = 10_000
/** Node's heap, JIT and the DHT's tables fill during the first minutes; growth is fitted after (unless --warmup says when). */
const WARMUP_FRACTION = 1 / 12
/** The last sixth of the run is paused: what an idle room costs. */
const IDLE_FRACTION = 1 / 6
/** After the pause, the engine's last corrections and the DHT's own chatter settle first. */
const IDLE_SETTLE_MS = 30_000
/** Skew is checked now and then, so a soak that drifts apart shows it (not a timing of its own). */
const SKEW_EVERY_MS = 5 * 60_000
/** Play/pause reach every player within a second; a deadline only. */
const FOLLOW_TIMEOUT_MS = 15_000
/** The film must outlast the playing phase (the player would pause at its end). */
const MEDIA_SPARE_S = 120
/**
 * The longest run whose playing phase the longest video outlasts. Beyond it every player reached
 * the film's end while the room was meant to play (a 120 min run: from minute 60 on, each mpv sat on
 * its last frame and the "playing" figures were an ended room's).
 */
const MAX_MINUTES = Math.floor((MEDIA_MAX_S - MEDIA_SPARE_S) / 60 / (1 - IDLE_FRACTION))
const MS_PER_HOUR = 3_600_000
/**
 * The used heap saws up and down with every collection; a leak shows in its floor. The floor is the
 * lowest sample in each window this long, and its slope is reported beside the plain fit.
 */
const HEAP_FLOOR_WINDOW_MS = 5 * 60_000
/**
 * RSS keeps rising for a while after the heap is flat (V8's code and the allocator's arenas settle
 * slowly): growth is also fitted over the second half of the playing phase alone, to tell a
 * warm-up that slows from a leak that does not.
 */
const LATE_FIT_FROM_FRACTION = 1 / 2
const TARGET_MB_PER_HOUR = 1
/**
 * Compiled code counts as settled once it is within this of the highest it reaches while playing:
 * V8 still swaps a few functions' code afterwards (tens of KB either way).
 */
const CODE_SETTLED_MB = 0.15
/** A fit over less time than this says little (a few full collections at most): reported as null. */
const MIN_FIT_SPAN_MS = 10 * 60_000

interface Args {
  minutes: number
  /** Minutes of playing before growth is fitted; null: a twelfth of the run. */
  warmupMinutes: number | null
  json: boolean
  samplesPath: string | null
  refitPath: string | null
  baseline: boolean
}

function parseArgs (argv: string[]): Args {
  const args: Args = { minutes: DEFAULT_MINUTES, warmupMinutes: null, json: false, samplesPath: null, refitPath: null, baseline: false }
  let minutesGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--minutes') {
      args.minutes = Number(argv[++i])
      minutesGiven = true
    } else if (a === '--warmup') args.warmupMinutes = Number(argv[++i])
    else if (a === '--samples') args.samplesPath = argv[++i] ?? ''
    else if (a === '--refit') args.refitPath = argv[++i] ?? ''
    else if (a === '--baseline') args.baseline = true
    else throw new UsageError(`unknown argument ${String(a)}; use --minutes M, --warmup M, --json, --samples FILE, --refit FILE, --baseline`)
  }
  if (!Number.isFinite(args.minutes) || args.minutes < 1 || args.minutes > MAX_MINUTES) throw new UsageError(`--minutes must be a number from 1 to ${MAX_MINUTES} (the playing phase must end before the ${MEDIA_MAX_S / 60} min test film does)`)
  if (args.warmupMinutes !== null && (!Number.isFinite(args.warmupMinutes) || args.warmupMinutes < 0)) throw new UsageError('--warmup must be a number of minutes, 0 or more')
  if (args.refitPath === null && args.warmupMinutes !== null) checkWarmup(args.minutes, args.warmupMinutes)
  if (args.samplesPath === '') throw new UsageError('--samples needs a file name')
  if (args.refitPath === '') throw new UsageError('--refit needs a file name (written by --samples)')
  if (args.refitPath !== null && (minutesGiven || args.samplesPath !== null || args.baseline)) throw new UsageError('--refit takes the run\'s length from its samples: use it with --json and --warmup only')
  return args
}

/** A warm-up must leave at least MIN_FIT_SPAN_MS of playing to fit. */
function checkWarmup (minutes: number, warmupMinutes: number): void {
  const { idleFromMs } = phases(minutes, null)
  const latestMinutes = (idleFromMs - MIN_FIT_SPAN_MS) / 60_000
  if (warmupMinutes > latestMinutes) throw new UsageError(`--warmup ${warmupMinutes} leaves under ${MIN_FIT_SPAN_MS / 60_000} min of playing to fit in a ${minutes} min run (it plays for ${idleFromMs / 60_000} min): at most ${Math.floor(latestMinutes * 10) / 10}`)
}

interface Sample {
  tMs: number
  phase: 'playing' | 'idle'
  rssMb: number
  /** RSS split as the kernel counts it: anonymous (heap, stacks, arenas) and file-backed (node's binary and libraries); absent in older sample files. */
  rssAnonMb?: number
  rssFileMb?: number
  threads?: number
  cpuS: number
  heapUsedMb: number | null
  /** Outside the JS heap (native buffers of sockets and crypto): where RSS grows when the heap does not. */
  externalMb: number | null
  heapTotalMb: number | null
  /** Compiled code, within heapUsedMb: grows with V8's warm-up, not with data. */
  codeMb: number | null
  /** The heap used right after the daemon's latest full collection: what is alive (null before one). */
  heapAfterGcMb: number | null
  /** heapAfterGcMb without compiled code, bytecode and their metadata: the data alone (null before one; absent in older sample files). */
  dataAfterGcMb?: number | null
  /** V8's young generation as reserved (both semi-spaces, within heapTotalMb; absent in older sample files). */
  youngGenerationMb?: number | null
}

const progress = (msg: string): void => { process.stderr.write(`  ${msg}\n`) }
const round = (v: number | null, digits = 2): number | null => v === null ? null : Number(v.toFixed(digits))

async function sampleAll (viewers: Viewer[], t0: number, phase: Sample['phase']): Promise<Sample[]> {
  return await Promise.all(viewers.map(async v => {
    const proc = await sampleProc(v.proc.pid)
    const status = await daemonStatus(v).catch(() => null)
    const memory = status?.memory
    return { tMs: performance.now() - t0, phase, rssMb: proc.rssMb, rssAnonMb: proc.rssAnonMb, rssFileMb: proc.rssFileMb, threads: proc.threads, cpuS: proc.cpuS, heapUsedMb: memory?.heapUsedMb ?? null, externalMb: memory?.externalMb ?? null, heapTotalMb: memory?.heapTotalMb ?? null, codeMb: memory?.codeMb ?? null, heapAfterGcMb: memory?.heapAfterGcMb ?? null, dataAfterGcMb: memory?.dataAfterGcMb ?? null, youngGenerationMb: memory?.youngGenerationMb ?? null }
  }))
}

async function allPlaying (viewers: Viewer[], want: boolean): Promise<boolean> {
  return (await Promise.all(viewers.map(async v => (await v.paused()) !== want))).every(Boolean)
}

/** CPU % of one core between the first sample at or after `fromMs` and the last at or before `toMs`. */
function cpuPct (samples: Sample[], fromMs: number, toMs: number): number | null {
  const inside = samples.filter(s => s.tMs >= fromMs && s.tMs <= toMs)
  const first = inside[0]
  const last = inside[inside.length - 1]
  if (first === undefined || last === undefined || last.tMs <= first.tMs) return null
  return ((last.cpuS - first.cpuS) * 1000 / (last.tMs - first.tMs)) * 100
}

function perHour (samples: Sample[], fromMs: number, pick: (s: Sample) => number | null, toMs = Infinity): number | null {
  const xs: number[] = []
  const ys: number[] = []
  for (const s of samples) {
    const y = pick(s)
    if (s.tMs < fromMs || s.tMs > toMs || y === null) continue
    xs.push(s.tMs / MS_PER_HOUR)
    ys.push(y)
  }
  return slope(xs, ys)
}

/**
 * RSS outside V8's reserved heap and the ArrayBuffers it tracks: the process's own native memory
 * (Node, libuv, UDX, sodium, the allocator). The collector frees none of it, so a native leak shows
 * here without V8's heap, which is reserved and given back in steps of megabytes around each
 * collection, hiding or faking a trend in RSS alone.
 */
const nativeMb = (s: Sample): number | null => s.heapTotalMb === null || s.externalMb === null ? null : s.rssMb - s.heapTotalMb - s.externalMb

/** The highest RSS between `fromMs` and `toMs`: a bounded process has the same peaks early and late. */
function rssPeak (samples: Sample[], fromMs: number, toMs: number): number | null {
  const inside = samples.filter(s => s.tMs >= fromMs && s.tMs < toMs).map(s => s.rssMb)
  return inside.length === 0 ? null : Math.max(...inside)
}

/** The highest of `pick` over all samples (null when none has it). */
function highest (samples: Sample[], pick: (s: Sample) => number | null): number | null {
  const ys = samples.map(pick).filter((y): y is number => y !== null)
  return ys.length === 0 ? null : Math.max(...ys)
}

/** The heap used by data: what is left of the heap used without the compiled code. */
const dataMb = (s: Sample): number | null => s.heapUsedMb === null || s.codeMb === null ? null : s.heapUsedMb - s.codeMb

/** The lowest sample (by `pick`, heap used unless told) of each window after `fromMs` (for a fit of the floor). */
function heapFloor (samples: Sample[], fromMs: number, pick: (s: Sample) => number | null = s => s.heapUsedMb): Sample[] {
  const floors = new Map<number, Sample>()
  for (const s of samples) {
    const y = pick(s)
    if (s.tMs < fromMs || y === null) continue
    const w = Math.floor((s.tMs - fromMs) / HEAP_FLOOR_WINDOW_MS)
    const best = floors.get(w)
    if (best === undefined || (pick(best) ?? Infinity) > y) floors.set(w, s)
  }
  return [...floors.values()]
}

/** What a run gathered: per daemon (in `names` order) its samples, and the skews checked; `baseline`: that daemon's name, if one ran as a baseline. */
interface Run { minutes: number, names: string[], perDaemon: Sample[][], skewsMs: number[], died: string[], baseline: string | null }

/** The phases of a run of `minutes` with a warm-up of `warmupMinutes` (null: the default), ms from the start of playing. */
function phases (minutes: number, warmupMinutes: number | null): { totalMs: number, warmupMs: number, idleFromMs: number, lateFromMs: number } {
  const totalMs = minutes * 60_000
  const warmupMs = warmupMinutes === null ? totalMs * WARMUP_FRACTION : warmupMinutes * 60_000
  const idleFromMs = totalMs * (1 - IDLE_FRACTION)
  return { totalMs, warmupMs, idleFromMs, lateFromMs: warmupMs + (idleFromMs - warmupMs) * LATE_FIT_FROM_FRACTION }
}

async function runRoom (args: Args): Promise<Run> {
  const { totalMs, warmupMs, idleFromMs } = phases(args.minutes, args.warmupMinutes)
  const mediaS = Math.ceil(idleFromMs / 1000) + MEDIA_SPARE_S
  const baseline = args.baseline ? NAMES[NAMES.length - 1]! : null
  if (args.samplesPath !== null) await writeFile(args.samplesPath, baseline === null ? '' : JSON.stringify({ baseline }) + '\n')

  const nodeFlags = baseline === null ? undefined : { [baseline]: [] }
  if (baseline !== null) progress(`${baseline}'s daemon is the baseline: node without the CLI's flags (${NODE_FLAGS.join(' ')})`)
  const room = await openRoom({ names: NAMES, passphrase: PASSPHRASE, mediaS, log: progress, nodeFlags })
  const viewers = room.viewers
  const perDaemon: Sample[][] = viewers.map(() => [])
  const skewsMs: number[] = []
  const died: string[] = []
  try {
    await viewers[0]!.userResume()
    await waitFor('the room playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_TIMEOUT_MS })
    const t0 = performance.now()
    progress(`playing; sampling every ${SAMPLE_EVERY_MS / 1000} s for ${args.minutes} min (paused for the last ${((totalMs - idleFromMs) / 60_000).toFixed(1)} min)`)
    let phase: Sample['phase'] = 'playing'
    let nextSkewMs = warmupMs
    let lastReportMs = 0
    for (let next = 0; next <= totalMs; next += SAMPLE_EVERY_MS) {
      const wait = next - (performance.now() - t0)
      if (wait > 0) await sleep(wait)
      if (phase === 'playing' && next >= idleFromMs) {
        await viewers[1]!.userPause()
        await waitFor('the room paused', async () => await allPlaying(viewers, false), { timeoutMs: FOLLOW_TIMEOUT_MS })
        phase = 'idle'
        progress('paused: measuring the idle room')
      }
      for (const v of viewers) {
        if (v.proc.proc.exitCode !== null || v.proc.proc.signalCode !== null) died.push(`${v.name} (${String(v.proc.proc.exitCode ?? v.proc.proc.signalCode)})`)
      }
      if (died.length > 0) break
      const samples = await sampleAll(viewers, t0, phase)
      samples.forEach((s, i) => perDaemon[i]!.push(s))
      if (args.samplesPath !== null) {
        await appendFile(args.samplesPath, samples.map((s, i) => JSON.stringify({ daemon: viewers[i]!.name, ...s })).join('\n') + '\n')
      }
      if (phase === 'playing' && next >= nextSkewMs) {
        const skewMs = await maxSkewMs(viewers.map(v => v.player))
        skewsMs.push(skewMs)
        if (args.samplesPath !== null) await appendFile(args.samplesPath, JSON.stringify({ tMs: next, skewMs }) + '\n')
        nextSkewMs += SKEW_EVERY_MS
      }
      if (next - lastReportMs >= 60_000) {
        lastReportMs = next
        progress(`${(next / 60_000).toFixed(0)} min: rss ${samples.map(s => s.rssMb.toFixed(1)).join('/')} MB, heap ${samples.map(s => s.heapUsedMb?.toFixed(1) ?? '-').join('/')} MB${skewsMs.length > 0 ? `, last skew ${skewsMs[skewsMs.length - 1]!.toFixed(1)} ms` : ''}`)
      }
    }
  } finally {
    await room.close()
  }
  return { minutes: args.minutes, names: viewers.map(v => v.name), perDaemon, skewsMs, died, baseline }
}

/** A run again from a file written by --samples; its length is the last sample's time, rounded up to a minute. */
async function readRun (path: string): Promise<Run> {
  const names: string[] = []
  const perDaemon: Sample[][] = []
  const skewsMs: number[] = []
  let baseline: string | null = null
  let lastMs = 0
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`)
  }
  for (const [n, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    let row: (Sample & { daemon: string }) | { tMs: number, skewMs: number } | { baseline: string }
    try {
      row = JSON.parse(line)
    } catch {
      throw new UsageError(`line ${n + 1} of ${path} is not JSON: not a file written by --samples`)
    }
    if ('baseline' in row) {
      baseline = row.baseline
      continue
    }
    if ('skewMs' in row) {
      skewsMs.push(row.skewMs)
      continue
    }
    const { daemon, ...sample } = row
    let i = names.indexOf(daemon)
    if (i < 0) i = names.push(daemon) - 1
    ;(perDaemon[i] ??= []).push(sample)
    lastMs = Math.max(lastMs, sample.tMs)
  }
  if (names.length === 0) throw new UsageError(`${path} holds no samples`)
  return { minutes: Math.max(1, Math.ceil(lastMs / 60_000 - 0.01)), names, perDaemon, skewsMs, died: [], baseline }
}

/**
 * When compiled code reached its plateau: the first sample whose code is within CODE_SETTLED_MB of
 * the highest seen up to `toMs`, so that it grew by no more than that afterwards (null without
 * code figures).
 */
function codeSettledMs (samples: Sample[], fromMs: number, toMs: number): number | null {
  const inside = samples.filter(s => s.tMs >= fromMs && s.tMs <= toMs && s.codeMb !== null)
  if (inside.length === 0) return null
  const highestMb = Math.max(...inside.map(s => s.codeMb!))
  return inside.find(s => s.codeMb! >= highestMb - CODE_SETTLED_MB)?.tMs ?? null
}

function summarise (run: Run, warmupMinutes: number | null) {
  const { warmupMs, idleFromMs, lateFromMs, totalMs } = phases(run.minutes, warmupMinutes)
  const { perDaemon, skewsMs, died } = run
  const all = run.names.map((name, i) => {
    const samples = perDaemon[i] ?? []
    const first = samples.find(s => s.tMs >= warmupMs) ?? samples[0]
    const last = samples[samples.length - 1]
    const settledMs = codeSettledMs(samples, warmupMs, idleFromMs)
    // Fitted from the settled minute on, while still playing, over at least MIN_FIT_SPAN_MS.
    const settledFitMs = settledMs !== null && idleFromMs - settledMs >= MIN_FIT_SPAN_MS ? settledMs : null
    const afterSettled = (pick: (s: Sample) => number | null): number | null => settledFitMs === null ? null : round(perHour(samples, settledFitMs, pick, idleFromMs))
    return {
      name,
      rssMbStart: round(samples[0]?.rssMb ?? null),
      rssMbAfterWarmup: round(first?.rssMb ?? null),
      rssMbEnd: round(last?.rssMb ?? null),
      rssMbPerHour: round(perHour(samples, warmupMs, s => s.rssMb)),
      rssMbPerHourLate: round(perHour(samples, lateFromMs, s => s.rssMb, idleFromMs)),
      rssMbPeakEarly: round(rssPeak(samples, warmupMs, lateFromMs)),
      rssMbPeakLate: round(rssPeak(samples, lateFromMs, idleFromMs)),
      rssAnonMbPerHour: round(perHour(samples, warmupMs, s => s.rssAnonMb ?? null)),
      rssFileMbAfterWarmup: round(first?.rssFileMb ?? null),
      rssFileMbEnd: round(last?.rssFileMb ?? null),
      rssFileMbPerHour: round(perHour(samples, warmupMs, s => s.rssFileMb ?? null)),
      threadsAfterWarmup: first?.threads ?? null,
      threadsMax: highest(samples, s => s.threads ?? null),
      nativeMbAfterWarmup: round(first === undefined ? null : nativeMb(first)),
      nativeMbEnd: round(last === undefined ? null : nativeMb(last)),
      nativeMbPerHour: round(perHour(samples, warmupMs, nativeMb)),
      heapMbAfterWarmup: round(first?.heapUsedMb ?? null),
      heapMbEnd: round(last?.heapUsedMb ?? null),
      heapMbPerHour: round(perHour(samples, warmupMs, s => s.heapUsedMb)),
      heapFloorMbPerHour: round(perHour(heapFloor(samples, warmupMs), warmupMs, s => s.heapUsedMb)),
      heapFloorMbStart: round(heapFloor(samples, warmupMs)[0]?.heapUsedMb ?? null),
      heapFloorMbEnd: round(heapFloor(samples, warmupMs).at(-1)?.heapUsedMb ?? null),
      heapTotalMbPerHour: round(perHour(samples, warmupMs, s => s.heapTotalMb)),
      codeMbAfterWarmup: round(first?.codeMb ?? null),
      codeMbEnd: round(last?.codeMb ?? null),
      codeMbPerHour: round(perHour(samples, warmupMs, s => s.codeMb)),
      dataFloorMbPerHour: round(perHour(heapFloor(samples, warmupMs, dataMb), warmupMs, dataMb)),
      heapAfterGcMbAfterWarmup: round(first?.heapAfterGcMb ?? null),
      heapAfterGcMbEnd: round(last?.heapAfterGcMb ?? null),
      heapAfterGcMbPerHour: round(perHour(samples, warmupMs, s => s.heapAfterGcMb)),
      dataAfterGcMbAfterWarmup: round(first?.dataAfterGcMb ?? null),
      dataAfterGcMbEnd: round(last?.dataAfterGcMb ?? null),
      dataAfterGcMbPerHour: round(perHour(samples, warmupMs, s => s.dataAfterGcMb ?? null)),
      externalMbPerHour: round(perHour(samples, warmupMs, s => s.externalMb)),
      youngGenerationMbMax: round(highest(samples, s => s.youngGenerationMb ?? null)),
      codeSettledMinutes: settledMs === null ? null : round(settledMs / 60_000, 1),
      rssMbPerHourCodeSettled: afterSettled(s => s.rssMb),
      heapMbPerHourCodeSettled: afterSettled(s => s.heapUsedMb),
      heapAfterGcMbPerHourCodeSettled: afterSettled(s => s.heapAfterGcMb),
      cpuPctPlaying: round(cpuPct(samples, warmupMs, idleFromMs)),
      cpuPctIdle: round(cpuPct(samples, idleFromMs + IDLE_SETTLE_MS, totalMs))
    }
  })
  // The baseline daemon is reported apart: the target is for the daemon as it ships.
  const daemons = all.filter(d => d.name !== run.baseline)
  const baseline = all.find(d => d.name === run.baseline) ?? null
  const worst = (pick: (d: typeof daemons[number]) => number | null): number | null => {
    const vs = daemons.map(pick).filter((x): x is number => x !== null)
    return vs.length === 0 ? null : Math.max(...vs)
  }
  return {
    minutes: run.minutes,
    samplesPerDaemon: perDaemon[0]?.length ?? 0,
    warmupMinutes: round(warmupMs / 60_000),
    daemons,
    rssMbPerHourMax: worst(d => d.rssMbPerHour),
    rssMbPerHourLateMax: worst(d => d.rssMbPerHourLate),
    rssMbPeakGrowthMax: worst(d => d.rssMbPeakLate === null || d.rssMbPeakEarly === null ? null : round(d.rssMbPeakLate - d.rssMbPeakEarly)),
    rssAnonMbPerHourMax: worst(d => d.rssAnonMbPerHour),
    rssFileMbPerHourMax: worst(d => d.rssFileMbPerHour),
    nativeMbPerHourMax: worst(d => d.nativeMbPerHour),
    heapMbPerHourMax: worst(d => d.heapMbPerHour),
    heapFloorMbPerHourMax: worst(d => d.heapFloorMbPerHour),
    dataFloorMbPerHourMax: worst(d => d.dataFloorMbPerHour),
    codeMbPerHourMax: worst(d => d.codeMbPerHour),
    heapAfterGcMbPerHourMax: worst(d => d.heapAfterGcMbPerHour),
    dataAfterGcMbPerHourMax: worst(d => d.dataAfterGcMbPerHour),
    rssMbPerHourCodeSettledMax: worst(d => d.rssMbPerHourCodeSettled),
    heapAfterGcMbPerHourCodeSettledMax: worst(d => d.heapAfterGcMbPerHourCodeSettled),
    cpuPctPlayingMax: worst(d => d.cpuPctPlaying),
    cpuPctIdleMax: worst(d => d.cpuPctIdle),
    worstSkewMs: round(skewsMs.length === 0 ? null : Math.max(...skewsMs), 1),
    baseline,
    died
  }
}

async function main (args: Args): Promise<number> {
  let run: Run
  try {
    run = args.refitPath !== null ? await readRun(args.refitPath) : await runRoom(args)
    if (args.refitPath !== null && args.warmupMinutes !== null) checkWarmup(run.minutes, args.warmupMinutes)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`${err.message}\n`)
    return 2
  }
  const result = summarise(run, args.warmupMinutes)
  const { daemons, baseline, died } = result
  if (args.json) {
    process.stdout.write(JSON.stringify(result) + '\n')
  } else {
    process.stdout.write(`soak: ${result.minutes} min, ${result.samplesPerDaemon} samples per daemon, growth fitted after ${result.warmupMinutes} min\n`)
    const shown = baseline === null ? daemons : [...daemons, baseline]
    for (const d of shown) {
      if (d === baseline) process.stdout.write(`  ${d.name} is the baseline (node without ${NODE_FLAGS.join(' ')}):\n`)
      process.stdout.write(`  ${d.name.padEnd(6)} rss ${d.rssMbAfterWarmup} -> ${d.rssMbEnd} MB (${d.rssMbPerHour} MB/h, ${d.rssMbPerHourLate} MB/h in the late half), heap ${d.heapMbAfterWarmup} -> ${d.heapMbEnd} MB (${d.heapMbPerHour} MB/h, floor ${d.heapFloorMbStart} -> ${d.heapFloorMbEnd} MB, ${d.heapFloorMbPerHour} MB/h; code ${d.codeMbAfterWarmup} -> ${d.codeMbEnd} MB, ${d.codeMbPerHour} MB/h; floor without code ${d.dataFloorMbPerHour} MB/h; after full GCs ${d.heapAfterGcMbAfterWarmup} -> ${d.heapAfterGcMbEnd} MB, ${d.heapAfterGcMbPerHour} MB/h, of it data ${String(d.dataAfterGcMbAfterWarmup)} -> ${String(d.dataAfterGcMbEnd)} MB, ${String(d.dataAfterGcMbPerHour)} MB/h), cpu ${d.cpuPctPlaying} % playing, ${d.cpuPctIdle} % idle\n`)
    }
    for (const d of shown) {
      process.stdout.write(`  ${d.name.padEnd(6)} rss peak ${String(d.rssMbPeakEarly)} MB in the early half of the playing phase, ${String(d.rssMbPeakLate)} MB in the late half; young generation at most ${String(d.youngGenerationMbMax)} MB; native (rss - V8 heap - external) ${String(d.nativeMbAfterWarmup)} -> ${String(d.nativeMbEnd)} MB, ${String(d.nativeMbPerHour)} MB/h; of rss, anonymous ${String(d.rssAnonMbPerHour)} MB/h and file-backed ${String(d.rssFileMbAfterWarmup)} -> ${String(d.rssFileMbEnd)} MB, ${String(d.rssFileMbPerHour)} MB/h; threads ${String(d.threadsAfterWarmup)}, at most ${String(d.threadsMax)}\n`)
      process.stdout.write(`  ${d.name.padEnd(6)} compiled code ${d.codeSettledMinutes === null ? 'still growing at the pause' : `settled from minute ${d.codeSettledMinutes}`}; from then to the pause: rss ${String(d.rssMbPerHourCodeSettled)} MB/h, heap ${String(d.heapMbPerHourCodeSettled)} MB/h, after full GCs ${String(d.heapAfterGcMbPerHourCodeSettled)} MB/h (null: under ${MIN_FIT_SPAN_MS / 60_000} min to fit)\n`)
    }
    process.stdout.write(`  worst skew in the playing room: ${String(result.worstSkewMs)} ms\n`)
    if (died.length > 0) process.stdout.write(`  DAEMONS DIED: ${died.join(', ')}\n`)
  }
  const grew = (result.rssMbPerHourMax ?? 0) > TARGET_MB_PER_HOUR || (result.heapMbPerHourMax ?? 0) > TARGET_MB_PER_HOUR
  if (grew) process.stderr.write(`growth above the target of ${TARGET_MB_PER_HOUR} MB/h\n`)
  return died.length > 0 ? 1 : 0
}

runBenchmark('soak', parseArgs, main)
