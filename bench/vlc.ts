/**
 * `npm run bench:vlc [-- --runs N] [-- --json]`: a room of a real VLC (carol) and two real mpv
 * (alice, bob) on a local testnet. Each run: alice plays, carol seeks in VLC, bob pauses, carol
 * resumes in VLC; the largest pairwise skew (mpv by its time-pos, VLC by the frame it shows: the
 * test fixtures' readers, each figure ~0.4 s of reads) is taken 1 s and 3 s after each action. With
 * --json, one JSON object: {runs: [{run, action, by, skew1sMs, skew3sMs}], skew1sMs/skew3sMs: {p50,
 * max} per action, withinFrame3s, actions, notFollowed (actions after which not every player showed
 * the new play/pause state within 10 s)}. Needs VLC (as root: the user test/fixtures/vlc.ts runs it as).
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestnet } from '../test/fixtures/testnet.js'
import { makeMedia } from '../test/fixtures/media.js'
import { Viewer } from '../test/fixtures/viewer.js'
import { VlcViewer } from '../test/fixtures/vlc-viewer.js'
import { vlcUnavailable } from '../test/fixtures/vlc.js'
import { maxSkewMs, waitForSkewBelow } from '../test/fixtures/skew.js'
import type { SkewPlayer } from '../test/fixtures/skew.js'
import { waitFor } from '../test/fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../test/fixtures/room.js'
import type { RoomViewer } from '../test/fixtures/room.js'
import { runBenchmark, runsArgsParser } from './cli.js'
import type { RunsArgs } from './cli.js'

/** When the skew is read after each action: the goal is one frame by 3 s. */
const HORIZONS_MS = [1000, 3000]
const DEFAULT_RUNS = 5
/** Each run is four actions in one room of a VLC and two mpv, about half a minute. */
const MAX_RUNS = 10
/**
 * Each run seeks to its own place, 7 s apart: the last of MAX_RUNS at 83 s, which leaves its run
 * (under 30 s of play after the seek) short of the end of the e2e test's cached 120 s video. 15 s apart,
 * runs 8-10 sought past its end.
 */
const SEEK_BASE_S = 20
const SEEK_STEP_S = 7
const MEDIA_SECONDS = 120
/** Before each action the room is at rest: in step, or this long after it was last asked (a deadline, then measured anyway). */
const REST_DEADLINE_MS = 30_000

type Action = 'play' | 'seek' | 'pause' | 'resume'

interface Sample { run: number, action: Action, by: string, skew1sMs: number, skew3sMs: number }

function summary (xs: number[]): { p50: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s[s.length - 1] ?? NaN }
}

async function main (args: RunsArgs): Promise<number> {
  const why = await vlcUnavailable()
  if (why !== null) {
    process.stderr.write(`bench:vlc: ${why}\n`)
    return 1
  }
  const file = await makeMedia({ seconds: MEDIA_SECONDS, frameStamped: true })
  const testnet = await startTestnet()
  const common = { passphrase: 'bench vlc: sotema-ruvika', bootstrapArg: testnet.bootstrapArg, file }
  const alice = new Viewer({ name: 'alice', ...common })
  const bob = new Viewer({ name: 'bob', ...common })
  const carol = new VlcViewer({ name: 'carol', ...common })
  const all: RoomViewer[] = [alice, bob, carol]
  const players: SkewPlayer[] = []
  const samples: Sample[] = []
  let notFollowed = 0
  try {
    await startRoom(all)
    players.push(alice.player, bob.player, carol.player)
    const steps: Array<{ action: Action, by: RoomViewer, act: (run: number) => Promise<void>, playing: boolean }> = [
      { action: 'play', by: alice, act: async () => await alice.userResume(), playing: true },
      { action: 'seek', by: carol, act: async run => await carol.userSeek(SEEK_BASE_S + SEEK_STEP_S * run), playing: true },
      { action: 'pause', by: bob, act: async () => await bob.userPause(), playing: false },
      { action: 'resume', by: carol, act: async () => await carol.userResume(), playing: true }
    ]
    for (let run = 0; run < args.runs; run++) {
      for (const step of steps) {
        if (step.action === 'play' && run > 0) {
          // The room rests paused before each run's play, as in the first.
          await bob.userPause()
          await waitFor('everyone paused', async () => await allPlaying(all, false), { timeoutMs: FOLLOW_DEADLINE_MS })
        }
        await waitForSkewBelow(players, FRAME_MS, `before ${step.by.name}'s ${step.action}`, { timeoutMs: REST_DEADLINE_MS, log: line => process.stderr.write(line + '\n') })
          .catch((err: unknown) => process.stderr.write(`  (not at rest: ${String(err).slice(0, 200)})\n`))
        const atMs = performance.now()
        await step.act(run)
        const skews: number[] = []
        for (const h of HORIZONS_MS) {
          await sleep(Math.max(0, atMs + h - performance.now()))
          skews.push(await maxSkewMs(players))
        }
        const sample = { run, action: step.action, by: step.by.name, skew1sMs: skews[0] ?? NaN, skew3sMs: skews[1] ?? NaN }
        samples.push(sample)
        process.stderr.write(`  run ${run + 1}: ${step.by.name} ${step.action}: skew ${sample.skew1sMs.toFixed(1)} / ${sample.skew3sMs.toFixed(1)} ms at 1 / 3 s\n`)
        // A room that did not follow is counted, and the runs go on (the next action brings it together).
        await waitFor(`everyone ${step.playing ? 'playing' : 'paused'}`, async () => await allPlaying(all, step.playing), { timeoutMs: FOLLOW_DEADLINE_MS })
          .catch((err: unknown) => {
            notFollowed++
            process.stderr.write(`  (not followed: ${String(err)})\n`)
          })
      }
    }
  } finally {
    await Promise.allSettled([alice, bob, carol].map(async v => await v.close()))
    await testnet.close()
  }
  const actions: Action[] = ['play', 'seek', 'pause', 'resume']
  const per = (key: 'skew1sMs' | 'skew3sMs'): Record<Action, { p50: number, max: number }> =>
    Object.fromEntries(actions.map(a => [a, summary(samples.filter(s => s.action === a).map(s => s[key]))])) as Record<Action, { p50: number, max: number }>
  const result = { runs: samples, skew1sMs: per('skew1sMs'), skew3sMs: per('skew3sMs'), withinFrame3s: samples.filter(s => s.skew3sMs <= FRAME_MS).length, actions: samples.length, notFollowed }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    const lines = actions.map(a => `  ${a.padEnd(6)} skew at 1 s: p50 ${result.skew1sMs[a].p50.toFixed(1)} max ${result.skew1sMs[a].max.toFixed(1)} ms; at 3 s: p50 ${result.skew3sMs[a].p50.toFixed(1)} max ${result.skew3sMs[a].max.toFixed(1)} ms`)
    process.stdout.write([`VLC + two mpv: ${args.runs} runs, ${result.withinFrame3s} of ${result.actions} actions within one frame at 3 s; ${notFollowed} not followed by everyone within ${FOLLOW_DEADLINE_MS / 1000} s`, ...lines].join('\n') + '\n')
  }
  return 0
}

runBenchmark('bench:vlc', runsArgsParser(DEFAULT_RUNS, MAX_RUNS), main)
