/**
 * `npm run bench:restart [-- --runs N] [-- --down-ms N] [-- --json]`: how fast a crashed daemon is back.
 * First `watchmesh --version` (the CLI's own start: Node, module loading) N times. Then a playing
 * two-viewer room (real mpv over MPRIS, a local testnet): bob's daemon is killed with SIGKILL and
 * started again at once (or after --down-ms, as the chaos run's 3-5 s down), N times; from its spawn: when it prints that it joined the room, when it
 * sees alice join, and when the two players are back within one frame (the first of three
 * measurements in a row within it, as the chaos run counts). Wall times swing with the machine's
 * load, so the CPU the process had used by then is given too (Linux /proc, 10 ms ticks): what a
 * change to the start itself moves. With --json, one JSON object: {versionMs, versionCpuMs,
 * joinedMs, peerMs, peerCpuMs, inStepMs (each {p50, max}), downMs, runs: [...]}.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { startTestnet } from '../test/fixtures/testnet.js'
import { makeMedia } from '../test/fixtures/media.js'
import { Viewer } from '../test/fixtures/viewer.js'
import { maxSkewMs, IN_STEP_CONSECUTIVE, IN_STEP_DEADLINE_MS } from '../test/fixtures/skew.js'
import { waitFor, waitForRun } from '../test/fixtures/wait.js'
import { allPlaying, FOLLOW_DEADLINE_MS, FRAME_MS, startRoom } from '../test/fixtures/room.js'
import { BIN } from '../test/fixtures/watchmesh.js'
import { runBenchmark, runsArgsParser, UsageError } from './cli.js'
import type { RunsArgs } from './cli.js'

const run = promisify(execFile)
const DEFAULT_RUNS = 5
/** A deadline only: a restarted daemon meets its room in a few seconds even on a busy machine. */
const REJOIN_DEADLINE_MS = 60_000
/** Longest --down-ms: past the peers' dead-peer timeout and well into hyperswarm's retry backoff. */
const MAX_DOWN_MS = 60_000

interface RestartArgs extends RunsArgs { downMs: number }

/** runsArgsParser's flags plus `--down-ms N`: how long bob's daemon stays dead before its restart. */
function parseArgs (argv: string[]): RestartArgs {
  let downMs = 0
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--down-ms') downMs = Number(argv[++i])
    else rest.push(argv[i] as string)
  }
  if (!Number.isInteger(downMs) || downMs < 0 || downMs > MAX_DOWN_MS) throw new UsageError(`--down-ms must be a whole number from 0 to ${MAX_DOWN_MS}`)
  return { ...runsArgsParser(DEFAULT_RUNS, 100)(rest), downMs }
}


/** Times from the restarted daemon's spawn, ms; peerCpuMs: the CPU it had used when it saw alice. */
interface Restart { joinedMs: number, peerMs: number, peerCpuMs: number, inStepMs: number }

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100

/** CPU time (user + system, all threads) of a process, or of this one's waited-for children, ms. */
function cpuMs (pid: number | 'self', children = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, cutime 16.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
  const [utime = NaN, stime = NaN, cutime = NaN, cstime = NaN] = fields.slice(11, 15)
  return ((children ? cutime + cstime : utime + stime) * 1000) / TICKS_PER_S
}

function summary (xs: number[]): { p50: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: Math.round(s[Math.floor((s.length - 1) / 2)] ?? NaN), max: Math.round(s[s.length - 1] ?? NaN) }
}

async function version (): Promise<{ ms: number, cpuMs: number }> {
  const cpu0 = cpuMs('self', true)
  const t0 = performance.now()
  await run(process.execPath, [BIN, '--version'])
  return { ms: performance.now() - t0, cpuMs: cpuMs('self', true) - cpu0 }
}

/** Resolves with performance.now() at the first poll that saw a line matching `pattern` after `from`. */
async function lineAt (v: Viewer, pattern: RegExp, from: number): Promise<number> {
  await v.proc.waitForLine(pattern, { after: from, timeoutMs: REJOIN_DEADLINE_MS })
  return performance.now()
}

async function restartOnce (alice: Viewer, bob: Viewer, downMs: number): Promise<Restart> {
  bob.proc.kill('SIGKILL')
  await bob.proc.exited()
  if (downMs > 0) await new Promise(resolve => setTimeout(resolve, downMs))
  const t0 = performance.now()
  bob.startDaemon()
  let peerCpuMs = NaN
  const [joined, peer] = await Promise.all([lineAt(bob, /joined the room as/, 0), lineAt(bob, /\balice joined/, 0).then(at => {
    peerCpuMs = cpuMs(bob.proc.pid)
    return at
  })])
  const starts: number[] = []
  await waitForRun('bob back in step with alice', async () => {
    starts.push(performance.now())
    return await maxSkewMs([alice.player, bob.player])
  }, skew => skew <= FRAME_MS, { consecutive: IN_STEP_CONSECUTIVE, timeoutMs: IN_STEP_DEADLINE_MS, show: s => `${s.toFixed(1)} ms` })
  const firstInStep = starts[starts.length - IN_STEP_CONSECUTIVE] as number
  return { joinedMs: joined - t0, peerMs: peer - t0, peerCpuMs, inStepMs: firstInStep - t0 }
}

async function main (args: RestartArgs): Promise<number> {
  const versions: Array<{ ms: number, cpuMs: number }> = []
  for (let i = 0; i < args.runs; i++) versions.push(await version())
  const testnet = await startTestnet()
  const file = await makeMedia()
  const [alice, bob] = ['alice', 'bob'].map(name => new Viewer({ name, passphrase: 'bench restart: sokavi-lumera', bootstrapArg: testnet.bootstrapArg, file })) as [Viewer, Viewer]
  const restarts: Restart[] = []
  try {
    await startRoom([alice, bob])
    await alice.userResume()
    await waitFor('both playing', async () => await allPlaying([alice, bob], true), { timeoutMs: FOLLOW_DEADLINE_MS })
    for (let k = 0; k < args.runs; k++) {
      const r = await restartOnce(alice, bob, args.downMs)
      restarts.push(r)
      if (!args.json) console.log(`restart ${k + 1}: joined the room ${r.joinedMs.toFixed(0)} ms, alice joined ${r.peerMs.toFixed(0)} ms (${r.peerCpuMs} ms of CPU), in step ${r.inStepMs.toFixed(0)} ms`)
    }
  } finally {
    await Promise.allSettled([alice.close(), bob.close()])
    await testnet.close()
  }
  const result = {
    versionMs: summary(versions.map(v => v.ms)),
    versionCpuMs: summary(versions.map(v => v.cpuMs)),
    joinedMs: summary(restarts.map(r => r.joinedMs)),
    peerMs: summary(restarts.map(r => r.peerMs)),
    peerCpuMs: summary(restarts.map(r => r.peerCpuMs)),
    inStepMs: summary(restarts.map(r => r.inStepMs)),
    downMs: args.downMs,
    loadAvg1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    runs: restarts.map(r => ({ joinedMs: Math.round(r.joinedMs), peerMs: Math.round(r.peerMs), peerCpuMs: r.peerCpuMs, inStepMs: Math.round(r.inStepMs) }))
  }
  if (args.json) console.log(JSON.stringify(result))
  else console.log(`watchmesh --version ${result.versionMs.p50} ms (max ${result.versionMs.max}; CPU ${result.versionCpuMs.p50} ms); after kill -9: joined the room ${result.joinedMs.p50} ms (max ${result.joinedMs.max}), alice joined ${result.peerMs.p50} ms (max ${result.peerMs.max}; CPU ${result.peerCpuMs.p50} ms), in step ${result.inStepMs.p50} ms (max ${result.inStepMs.max}); down ${args.downMs} ms; load ${result.loadAvg1m}`)
  return 0
}

runBenchmark('bench:restart', parseArgs, main)
