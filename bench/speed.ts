/**
 * `npm run bench:speed [-- --runs N] [-- --json]`: three real mpv viewers on a local testnet play;
 * one sets another speed in its own player (1.25x, then 1x, 1.5x, 1x, ... round the viewers), and
 * the largest pairwise skew (mpv's own time-pos over IPC, each figure ~0.4 s of reads) is taken 2 s,
 * 5 s and 15 s after the change. With --json, one JSON object: {runs: [{speed, by, skew2sMs,
 * skew5sMs, skew15sMs}], p50/max per horizon}.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestnet } from '../test/fixtures/testnet.js'
import { makeMedia } from '../test/fixtures/media.js'
import { Viewer } from '../test/fixtures/viewer.js'
import { skewsRelativeMs, waitForSkewBelow } from '../test/fixtures/skew.js'
import { waitFor } from '../test/fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../test/fixtures/room.js'
import { runBenchmark, runsArgsParser } from './cli.js'
import type { RunsArgs } from './cli.js'

/** When the skew is read after each change: the goal is one frame at 2 s; 5 s and 15 s show what is mended later. */
const HORIZONS_MS = [2000, 5000, 15_000]
const SPEEDS = [1.25, 1, 1.5, 1]
const DEFAULT_RUNS = 4
/** Media long enough for every run at 1.5x with the settling between runs. */
const MEDIA_SECONDS = 600


/**
 * changerAheadMs: how far the changer's player is ahead of each other player 5 s after (diagnosis);
 * othersAheadMs: per horizon, how far each other player (`others`, in order) is ahead of the changer's,
 * from the same reads as the skew (which viewer is off, and which way).
 */
interface Run { speed: number, by: string, skew2sMs: number, skew5sMs: number, skew15sMs: number, changerAheadMs: number[], others: string[], othersAheadMs: number[][] }

function summary (xs: number[]): { p50: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s[s.length - 1] ?? NaN }
}

async function main (args: RunsArgs): Promise<number> {
  const testnet = await startTestnet()
  const file = await makeMedia({ seconds: MEDIA_SECONDS })
  const viewers = ['alice', 'bob', 'carol'].map(name => new Viewer({ name, passphrase: 'bench speed: ravemo-tilusa', bootstrapArg: testnet.bootstrapArg, file }))
  const runs: Run[] = []
  try {
    await startRoom(viewers)
    const players = viewers.map(v => v.player)
    await viewers[0]?.userResume()
    await waitFor('everyone playing', async () => await allPlaying(viewers, true), { timeoutMs: FOLLOW_DEADLINE_MS })
    for (let k = 0; k < args.runs; k++) {
      // The held measurements go to stderr: with --json, standard output is the JSON alone.
      await waitForSkewBelow(players, FRAME_MS, `before change ${k + 1}`, { log: line => process.stderr.write(line + '\n') })
      const v = viewers[k % viewers.length] as Viewer
      const speed = SPEEDS[k % SPEEDS.length] as number
      const atMs = performance.now()
      await v.player.command(['set_property', 'speed', speed])
      const others = viewers.filter(o => o !== v)
      const skews: number[] = []
      const othersAheadMs: number[][] = []
      for (const h of HORIZONS_MS) {
        await sleep(Math.max(0, atMs + h - performance.now()))
        // Relative to the changer's player (0 for itself): the largest pairwise skew is their span.
        const ahead = (await skewsRelativeMs([v.player, ...others.map(o => o.player)])).slice(1)
        othersAheadMs.push(ahead)
        skews.push(Math.max(0, ...ahead) - Math.min(0, ...ahead))
      }
      const changerAheadMs = (othersAheadMs[1] ?? []).map(x => -x)
      const run = { speed, by: v.name, skew2sMs: skews[0] ?? NaN, skew5sMs: skews[1] ?? NaN, skew15sMs: skews[2] ?? NaN, changerAheadMs, others: others.map(o => o.name), othersAheadMs }
      runs.push(run)
      process.stderr.write(`  ${v.name} set ${speed}x: skew ${run.skew2sMs.toFixed(1)} / ${run.skew5sMs.toFixed(1)} / ${run.skew15sMs.toFixed(1)} ms at 2 / 5 / 15 s; ${run.others.join(', ')} ahead of ${v.name} by ${othersAheadMs.map(xs => xs.map(x => x.toFixed(1)).join(', ')).join(' / ')} ms\n`)
    }
  } finally {
    await Promise.allSettled(viewers.map(async v => await v.close()))
    await testnet.close()
  }
  const result = {
    runs,
    skew2sMs: summary(runs.map(r => r.skew2sMs)),
    skew5sMs: summary(runs.map(r => r.skew5sMs)),
    skew15sMs: summary(runs.map(r => r.skew15sMs))
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n')
  else {
    const line = (name: string, x: { p50: number, max: number }): string => `  skew ${name} after a speed change: p50 ${x.p50.toFixed(1)} ms, max ${x.max.toFixed(1)} ms`
    process.stdout.write([`speed changes in a room of three real mpv: ${runs.length} runs`, line('2 s', result.skew2sMs), line('5 s', result.skew5sMs), line('15 s', result.skew15sMs)].join('\n') + '\n')
  }
  return 0
}

runBenchmark('bench:speed', runsArgsParser(DEFAULT_RUNS, 40), main)
