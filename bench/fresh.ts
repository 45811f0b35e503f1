/**
 * `npm run bench:fresh [-- --runs N] [-- --json]`: the first play of a room of freshly started
 * players, the first impression a group gets. Each run starts three new viewers (a private bus, a new
 * mpv paused at 0:00, a new `watchmesh join`) on a local testnet; once all have met, one of them (in
 * turn) presses play in its own mpv, and the largest pairwise skew (mpv's own time-pos over IPC, each
 * figure ~0.4 s of reads) is taken 1 s and 3 s after. The room then plays on, another viewer pauses
 * and resumes (so every daemon has made a start of its own), and the daemons are stopped.
 *
 * Two series: `fresh`, every daemon with a new config folder (nothing remembered), and
 * `remembered`, one config folder per viewer kept across its runs, so each daemon starts from what
 * the same viewer's daemons learnt of their player before (an unmeasured first run teaches them).
 * With --json, one JSON object: {fresh|remembered: {runs: [{by, skew1sMs, skew3sMs, ahead1sMs,
 * ahead3sMs}], notSetUp, skew1sMs: {p50, max}, skew3sMs: {p50, max}}, loadAvg1m}; `aheadNsMs` is
 * each other player's signed skew against the one that pressed play (positive: ahead of it);
 * `notSetUp`: runs left out because their room could not be set up (a loaded machine).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestnet } from '../test/fixtures/testnet.js'
import type { LocalTestnet } from '../test/fixtures/testnet.js'
import { makeMedia } from '../test/fixtures/media.js'
import { Viewer } from '../test/fixtures/viewer.js'
import { skewsRelativeMs, waitForSkewBelow } from '../test/fixtures/skew.js'
import { waitFor } from '../test/fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS, JOIN_DEADLINE_MS, startRoom } from '../test/fixtures/room.js'
import { runBenchmark, runsArgsParser } from './cli.js'
import type { RunsArgs } from './cli.js'

/** When the skew is read after the first play: the goal is one frame at 1 s; 3 s shows what is mended later. */
const HORIZONS_MS = [1000, 3000]
const DEFAULT_RUNS = 5
const NAMES = ['alice', 'bob', 'carol']
const MEDIA_SECONDS = 120

interface Run { by: string, skew1sMs: number, skew3sMs: number, ahead1sMs: number[], ahead3sMs: number[] }

function summary (xs: number[]): { p50: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: Number((s[Math.floor((s.length - 1) / 2)] ?? NaN).toFixed(1)), max: Number((s[s.length - 1] ?? NaN).toFixed(1)) }
}

const round1 = (x: number): number => Number(x.toFixed(1))

/**
 * One room of fresh players: the first play by `by`, skew at each horizon; then a pause and resume
 * by the next viewer, so every daemon starts its player once (what a remembered run starts from).
 */
async function runOnce (testnet: LocalTestnet, file: string, byIndex: number, configHomes: string[] | null, k: number): Promise<Run> {
  const viewers = NAMES.map((name, i) => new Viewer({ name, passphrase: `bench fresh ${k}: lomira-pesaku`, bootstrapArg: testnet.bootstrapArg, file, configHome: configHomes?.[i] }))
  try {
    await startRoom(viewers)
    // Each daemon has reached its player (the mesh comes up first): the play below is an action.
    for (const v of viewers) await v.proc.waitForLine(/following /, { timeoutMs: JOIN_DEADLINE_MS })
    // The actor first: the others' skews are read against it.
    const order = [...viewers.slice(byIndex), ...viewers.slice(0, byIndex)]
    const by = order[0] as Viewer
    const players = order.map(v => v.player)
    const atMs = performance.now()
    await by.userResume()
    const aheads: number[][] = []
    for (const h of HORIZONS_MS) {
      await sleep(Math.max(0, atMs + h - performance.now()))
      aheads.push((await skewsRelativeMs(players)).slice(1))
    }
    const skew = (ahead: number[]): number => Math.max(0, ...ahead) - Math.min(0, ...ahead)
    const [a1 = [], a3 = []] = aheads
    const run = { by: by.name, skew1sMs: round1(skew(a1)), skew3sMs: round1(skew(a3)), ahead1sMs: a1.map(round1), ahead3sMs: a3.map(round1) }
    process.stderr.write(`  ${by.name} pressed play: skew ${run.skew1sMs} / ${run.skew3sMs} ms at 1 / 3 s; the others ahead of ${by.name} by ${run.ahead1sMs.join(', ')} / ${run.ahead3sMs.join(', ')} ms\n`)
    // Every daemon makes a start of its own before it stops (the actor's player was started by its
    // user). What goes wrong here is told, and the measured run kept.
    const next = order[1] as Viewer
    try {
      await waitForSkewBelow(players, FRAME_MS, 'before the pause', { log: () => {} })
      await next.userPause()
      await waitFor('everyone paused', async () => await allPlaying(viewers, false), { timeoutMs: FOLLOW_DEADLINE_MS })
      await next.userResume()
      await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
      await waitForSkewBelow(players, FRAME_MS, 'after the resume', { log: () => {} })
    } catch (err) {
      process.stderr.write(`  (after the measurement: ${err instanceof Error ? err.message.slice(0, 300) : String(err)})\n`)
    }
    return run
  } finally {
    await Promise.allSettled(viewers.map(async v => await v.close()))
  }
}

/**
 * A room that could not be set up (on a loaded machine an mpv took over 10 s to claim its bus
 * name) is started again, at most this many times: the figure is the first play, not the setup.
 */
const SETUP_ATTEMPTS = 3

/** The run, or null when its room could not be set up in SETUP_ATTEMPTS tries (counted as `notSetUp`). */
async function withRetries (run: () => Promise<Run>): Promise<Run | null> {
  for (let attempt = 1; attempt <= SETUP_ATTEMPTS; attempt++) {
    try {
      return await run()
    } catch (err) {
      process.stderr.write(`  setting the room up failed (${err instanceof Error ? err.message.slice(0, 200) : String(err)})${attempt < SETUP_ATTEMPTS ? '; again' : '; run left out'}\n`)
    }
  }
  return null
}

async function series (testnet: LocalTestnet, file: string, runs: number, remembered: boolean): Promise<{ runs: Run[], notSetUp: number, skew1sMs: { p50: number, max: number }, skew3sMs: { p50: number, max: number } }> {
  const homes = remembered ? await Promise.all(NAMES.map(async n => await mkdtemp(join(tmpdir(), `wm-fresh-${n}-`)))) : null
  const out: Run[] = []
  let notSetUp = 0
  try {
    if (homes !== null) {
      process.stderr.write('remembered: a first room teaches the daemons (not measured)\n')
      await withRetries(async () => await runOnce(testnet, file, 0, homes, -1))
    }
    for (let k = 0; k < runs; k++) {
      const run = await withRetries(async () => await runOnce(testnet, file, k % NAMES.length, homes, k))
      if (run === null) notSetUp++
      else out.push(run)
    }
  } finally {
    if (homes !== null) await Promise.all(homes.map(async h => await rm(h, { recursive: true, force: true })))
  }
  return { runs: out, notSetUp, skew1sMs: summary(out.map(r => r.skew1sMs)), skew3sMs: summary(out.map(r => r.skew3sMs)) }
}

async function main (args: RunsArgs): Promise<number> {
  const testnet = await startTestnet()
  const file = await makeMedia({ seconds: MEDIA_SECONDS })
  try {
    process.stderr.write('fresh: nothing remembered\n')
    const fresh = await series(testnet, file, args.runs, false)
    process.stderr.write('remembered: each viewer\'s daemon starts from what its earlier ones learnt\n')
    const remembered = await series(testnet, file, args.runs, true)
    const result = { fresh, remembered, loadAvg1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]) }
    if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
    else {
      const line = (name: string, s: typeof fresh): string => `  ${name}: skew at 1 s p50 ${s.skew1sMs.p50} ms, max ${s.skew1sMs.max} ms; at 3 s p50 ${s.skew3sMs.p50} ms, max ${s.skew3sMs.max} ms`
      process.stdout.write([`the first play of a room of three freshly started mpv, ${args.runs} runs each (load ${result.loadAvg1m})`, line('nothing remembered', fresh), line('remembered      ', remembered)].join('\n') + '\n')
    }
  } finally {
    await testnet.close()
  }
  return 0
}

runBenchmark('bench:fresh', runsArgsParser(DEFAULT_RUNS, 30), main)
