/**
 * `npm run bench:actions [-- --rounds N] [-- --backend mpris|mpv-ipc] [-- --json]`: action latency
 * per kind with three real mpv viewers on one machine (a ~0.1 ms link), the daemons reaching mpv
 * over MPRIS (mpv-mpris; the default) or mpv's JSON IPC. Each round, one viewer (in turn) pauses, resumes and
 * seeks in its own mpv; the time from that command until every other mpv is in the new state is
 * read from mpv's own properties over its JSON IPC, every ~2 ms:
 * - pause: every other mpv reports `pause` true;
 * - resume: every other mpv reports `pause` false;
 * - seek (while playing): every other mpv plays within one frame (40 ms) of the seeker's time-pos.
 * The daemon noticing the action (its polling, PropertiesChanged) is included, as a user would see.
 * With --json, one object: {runs: [{kind, by, latencyMs}], pause|resume|seek: {p50, max}}.
 * With --stages, also where each action's time went, from the daemons' engine traces (stages.ts:
 * notice, publish, delivery, lead, landing, along the receiver that followed last): printed per
 * action, and with --json as `stages`: {runs: [{kind, by, noticeMs, publishMs, deliveryMs, leadMs,
 * landingMs}], pause|resume|seek: {<stage>: {p50, max}}}.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestnet } from '../test/fixtures/testnet.js'
import { makeMedia } from '../test/fixtures/media.js'
import { Viewer } from '../test/fixtures/viewer.js'
import { maxSkewMs } from '../test/fixtures/skew.js'
import type { ViewerKind } from '../test/fixtures/viewer.js'
import { waitFor } from '../test/fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../test/fixtures/room.js'
import { runBenchmark, UsageError } from './cli.js'
import { readTrace, STAGE_KEYS, stagesOf } from './stages.js'
import type { Stages } from './stages.js'

const DEFAULT_ROUNDS = 3
/** Media long enough for every round's seeks. */
const MEDIA_SECONDS = 600
/** Between reads of the others' state: fine enough for a figure in ms, light on a busy machine. */
const READ_EVERY_MS = 2
/** An action not followed within this is recorded as a failure, not waited for further. */
const ACTION_DEADLINE_MS = 5000
/** After each action, the room settles (the daemons' re-anchors and moves) before the next. */
const SETTLE_MS = 2500

type Kind = 'pause' | 'resume' | 'seek'
interface Args { rounds: number, json: boolean, backend: ViewerKind, stages: boolean }
/** `pressMs`: when the action was made, on the daemons' clock (performance.timeOrigin + now). */
interface Run { kind: Kind, by: string, latencyMs: number | null, pressMs: number }

function parseArgs (argv: string[]): Args {
  const args: Args = { rounds: DEFAULT_ROUNDS, json: false, backend: 'mpris', stages: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') args.json = true
    else if (a === '--stages') args.stages = true
    else if (a === '--rounds') args.rounds = Number(argv[++i])
    else if (a === '--backend') {
      const b = argv[++i]
      if (b !== 'mpris' && b !== 'mpv-ipc') throw new UsageError('--backend must be mpris or mpv-ipc')
      args.backend = b
    } else throw new UsageError(`unknown argument ${String(a)}; use --rounds N, --backend mpris|mpv-ipc, --json, --stages`)
  }
  if (!Number.isInteger(args.rounds) || args.rounds < 1 || args.rounds > 30) throw new UsageError('--rounds must be a whole number from 1 to 30')
  return args
}

async function prop (v: Viewer, name: string): Promise<unknown> {
  return await v.player.command(['get_property', name])
}

/** Milliseconds from `fromMs` until `done()` holds, read every READ_EVERY_MS; null past the deadline. */
async function timeUntil (fromMs: number, done: () => Promise<boolean>): Promise<number | null> {
  for (;;) {
    if (await done()) return performance.now() - fromMs
    if (performance.now() - fromMs > ACTION_DEADLINE_MS) return null
    await sleep(READ_EVERY_MS)
  }
}

async function act (kind: Kind, by: Viewer, others: Viewer[], mediaS: number, round: number): Promise<number | null> {
  const startMs = performance.now()
  if (kind === 'pause') {
    await by.userPause()
    return await timeUntil(startMs, async () => (await Promise.all(others.map(async o => await prop(o, 'pause') === true))).every(Boolean))
  }
  if (kind === 'resume') {
    await by.userResume()
    return await timeUntil(startMs, async () => (await Promise.all(others.map(async o => await prop(o, 'pause') === false))).every(Boolean))
  }
  const targetS = (mediaS / 4) + (round * 37) % (mediaS / 2)
  await by.userSeek(targetS)
  return await timeUntil(startMs, async () => {
    const here = Number(await prop(by, 'time-pos'))
    const there = await Promise.all(others.map(async o => [await prop(o, 'pause'), Number(await prop(o, 'time-pos'))] as const))
    return there.every(([paused, pos]) => paused === false && Math.abs(pos - here) * 1000 <= FRAME_MS)
  })
}

function summary (xs: Array<number | null>): { p50: number | null, max: number | null, failed: number } {
  const s = xs.filter((x): x is number => x !== null).sort((a, b) => a - b)
  return { p50: s[Math.floor((s.length - 1) / 2)] ?? null, max: s[s.length - 1] ?? null, failed: xs.length - s.length }
}

async function main (args: Args): Promise<number> {
  // The daemons write their engine traces there (test/fixtures/viewer.ts reads this at their start):
  // a folder given in WATCHMESH_TEST_TRACE_DIR is kept, one of our own removed at the end.
  const givenDir = process.env.WATCHMESH_TEST_TRACE_DIR
  const traceDir = !args.stages ? null : givenDir ?? mkdtempSync(join(tmpdir(), 'wm-bench-stages-'))
  if (traceDir !== null) process.env.WATCHMESH_TEST_TRACE_DIR = traceDir
  const testnet = await startTestnet()
  const file = await makeMedia({ seconds: MEDIA_SECONDS })
  const viewers = ['alice', 'bob', 'carol'].map(name => new Viewer({ name, passphrase: 'bench actions: pomela-rudika', bootstrapArg: testnet.bootstrapArg, file, kind: args.backend }))
  const runs: Run[] = []
  let notInStep = 0
  try {
    await startRoom(viewers)
    await viewers[0]?.userResume()
    await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
    for (let k = 0; k < args.rounds; k++) {
      for (const kind of ['pause', 'resume', 'seek'] as const) {
        await sleep(SETTLE_MS)
        // A room that did not get back in step is told and counted, and the next action made anyway.
        let skewMs = Infinity
        try {
          await waitFor(`the room in step before ${kind} ${k + 1}`, async () => (skewMs = await maxSkewMs(viewers.map(v => v.player))) <= FRAME_MS, { timeoutMs: FOLLOW_DEADLINE_MS })
        } catch {
          notInStep++
          process.stderr.write(`  the room was still ${skewMs.toFixed(1)} ms apart ${FOLLOW_DEADLINE_MS} ms after the last action\n`)
        }
        const by = viewers[(k + runs.length) % viewers.length] as Viewer
        const pressMs = performance.timeOrigin + performance.now()
        const latencyMs = await act(kind, by, viewers.filter(v => v !== by), MEDIA_SECONDS, k)
        runs.push({ kind, by: by.name, latencyMs, pressMs })
        process.stderr.write(`  ${by.name} ${kind}: ${latencyMs === null ? `not followed in ${ACTION_DEADLINE_MS} ms` : `${latencyMs.toFixed(1)} ms`} until every other player followed\n`)
      }
    }
  } finally {
    await Promise.allSettled(viewers.map(async v => await v.close()))
    await testnet.close()
  }
  const of = (kind: Kind): ReturnType<typeof summary> => summary(runs.filter(r => r.kind === kind).map(r => r.latencyMs))
  const stages = traceDir === null ? null : stagesFromTraces(traceDir, runs, viewers.map(v => v.name))
  if (traceDir !== null && givenDir === undefined) rmSync(traceDir, { recursive: true, force: true })
  const result = { backend: args.backend, notInStep, runs: runs.map(({ pressMs: _, ...r }) => r), pause: of('pause'), resume: of('resume'), seek: of('seek'), ...(stages === null ? {} : { stages }) }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    const fmt = (v: number | null): string => v === null ? '-' : `${v.toFixed(1)} ms`
    const line = (kind: Kind): string => `  ${kind.padEnd(6)}  p50 ${fmt(result[kind].p50)}  max ${fmt(result[kind].max)}${result[kind].failed > 0 ? `  (${result[kind].failed} not followed)` : ''}`
    process.stdout.write([`action latency, three real mpv over ${args.backend} on one machine, ${args.rounds} rounds (action -> every other player in the new state)`, line('pause'), line('resume'), line('seek'), ...(notInStep > 0 ? [`  ${notInStep} times the room was not back within one frame ${FOLLOW_DEADLINE_MS} ms after an action`] : [])].join('\n') + '\n')
  }
  return 0
}

type StageRun = { kind: Kind, by: string } & Stages

/** Each followed action's stages (stages.ts), printed as they are found, and their p50 and max per kind. */
function stagesFromTraces (dir: string, runs: Run[], names: string[]): { runs: StageRun[] } & Record<Kind, Record<keyof Stages, ReturnType<typeof summary>>> {
  const traces = new Map(names.map(name => [name, readTrace(join(dir, `${name}.jsonl`))]))
  const out: StageRun[] = []
  for (const r of runs) {
    const initiator = traces.get(r.by)
    const stages = r.latencyMs === null || initiator === undefined
      ? null
      : stagesOf(r.kind, r.pressMs, r.latencyMs, initiator, names.filter(n => n !== r.by).map(n => traces.get(n) ?? []))
    if (stages === null) {
      process.stderr.write(`  ${r.by} ${r.kind}: stages not found in the traces\n`)
      continue
    }
    out.push({ kind: r.kind, by: r.by, ...stages })
    process.stderr.write(`  ${r.by} ${r.kind}: ${STAGE_KEYS.map(k => `${k.replace(/Ms$/, '')} ${stages[k].toFixed(1)}`).join(', ')} ms\n`)
  }
  const per = (kind: Kind): Record<keyof Stages, ReturnType<typeof summary>> =>
    Object.fromEntries(STAGE_KEYS.map(k => [k, summary(out.filter(r => r.kind === kind).map(r => r[k]))])) as Record<keyof Stages, ReturnType<typeof summary>>
  return { runs: out, pause: per('pause'), resume: per('resume'), seek: per('seek') }
}

runBenchmark('bench:actions', parseArgs, main)
