/**
 * `npm run bench:net [-- --json] [-- --scenario NAME,...]`: the room over the network test bed
 * (test/net: namespaces joined by a user-space router, one `watchmesh dht` bootstrap node, three
 * viewers with real mpv and real daemons). Per scenario: how long the mesh took, and per user
 * action the latency (the action -> every player in the new state, read from the players' own
 * IPC) and the skew once settled (3 measurements in a row under the bar, each averaging ~0.4 s of
 * mpv's own time-pos); then the hold: the room resumed and left playing for HOLD_MS with nobody
 * acting, its skew read back to back. Needs root, /dev/net/tun, iproute2 and python3.
 */
import { performance } from 'node:perf_hooks'
import { max, percentile } from '../sim/stats.js'
import { netBedUnavailable } from '../test/net/bed.js'
import { BENCH_STEPS, FOLLOW_DEADLINE_MS, IN_STEP_SAMPLES, NetRoom, SCENARIOS } from '../test/net/room.js'
import type { Scenario, Step } from '../test/net/room.js'

interface StepRun {
  kind: Step['kind']
  by: string
  /** User action -> every player in the new state. */
  latencyMs: number
  /** Every player in the new state -> the skew under the bar for IN_STEP_SAMPLES readings. */
  settleMs: number
  /** Mean of those in-step readings. */
  skewMs: number
  /** The worst reading while settling (the first, typically). */
  skewMsMax: number
}

/** Skew while playing with nobody acting, over HOLD_MS after the room settled. */
interface HoldRun {
  samples: number
  skewMsP50: number
  skewMsP95: number
  skewMsMax: number
}

interface ScenarioRun {
  name: string
  about: string
  meshMs: number
  steps: StepRun[]
  latencyMsByKind: Record<string, number[]>
  hold: HoldRun
}

/** Long enough for several drift corrections and clock re-measurements on a jittery link. */
const HOLD_MS = 20_000
/** The hold starts from a resume, like a film left running between actions. */
const HOLD_START: Step = { kind: 'resume', by: 'alice' }

function parseArgs (argv: string[]): { json: boolean, scenarios: Scenario[] } {
  let json = false
  let names: string[] | null = null
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') json = true
    else if (a === '--scenario') names = (argv[++i] ?? '').split(',')
    else throw new Error(`unknown argument ${String(a)}; use --json, --scenario ${SCENARIOS.map(s => s.name).join(',')}`)
  }
  const scenarios = names === null ? SCENARIOS : names.map(n => {
    const s = SCENARIOS.find(x => x.name === n)
    if (s === undefined) throw new Error(`no scenario ${n}; there are ${SCENARIOS.map(x => x.name).join(', ')}`)
    return s
  })
  return { json, scenarios }
}

/** Polls back to back (each poll is one IPC round trip per player, ~1 ms): the latency's resolution. */
async function pollUntil (what: string, check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const t0 = performance.now()
  while (!(await check())) {
    if (performance.now() - t0 > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`)
  }
}

async function runScenario (scenario: Scenario): Promise<ScenarioRun> {
  const room = new NetRoom(scenario, `bench net ${scenario.name}: tavoki-ramelu-sopina`)
  try {
    await room.start()
    // From the last daemon spawned (mpv already up) to the last "joined" line.
    const meshMs = room.meshFormedAtMs - room.daemonsStartedAtMs
    const steps: StepRun[] = []
    for (const step of BENCH_STEPS) {
      const tAction = performance.now()
      await room.perform(step)
      await pollUntil(`${step.by} ${step.kind}`, async () => await room.reached(step), FOLLOW_DEADLINE_MS)
      const tReached = performance.now()
      const latencyMs = tReached - tAction
      const skews = await room.inStep(`${scenario.name}: after ${step.by} ${step.kind}`)
      const settled = skews.slice(-IN_STEP_SAMPLES)
      steps.push({
        kind: step.kind,
        by: step.by,
        latencyMs: round(latencyMs),
        settleMs: round(performance.now() - tReached),
        skewMs: round(settled.reduce((a, b) => a + b, 0) / settled.length),
        skewMsMax: round(Math.max(...skews))
      })
    }
    const latencyMsByKind: Record<string, number[]> = {}
    for (const s of steps) (latencyMsByKind[s.kind] ??= []).push(s.latencyMs)
    await room.perform(HOLD_START)
    await pollUntil('the hold\'s resume', async () => await room.reached(HOLD_START), FOLLOW_DEADLINE_MS)
    await room.inStep(`${scenario.name}: before the hold`)
    const held = await room.hold(HOLD_MS)
    const hold = { samples: held.length, skewMsP50: round(percentile(held, 50) ?? NaN), skewMsP95: round(percentile(held, 95) ?? NaN), skewMsMax: round(max(held) ?? NaN) }
    return { name: scenario.name, about: scenario.about, meshMs: round(meshMs), steps, latencyMsByKind, hold }
  } finally {
    await room.close()
  }
}

function round (x: number): number {
  return Math.round(x * 10) / 10
}

function table (runs: ScenarioRun[]): string {
  const header = ['scenario', 'mesh ms', 'action', 'latency ms', 'settle ms', 'skew ms', 'skew max ms']
  const rows: string[][] = []
  for (const r of runs) {
    r.steps.forEach((s, i) => rows.push([i === 0 ? r.name : '', i === 0 ? String(r.meshMs) : '', `${s.by} ${s.kind}`,
      String(s.latencyMs), String(s.settleMs), String(s.skewMs), String(s.skewMsMax)]))
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(row => (row[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join('  ')
  const holds = runs.map(r => `${r.name}: hold ${HOLD_MS / 1000} s playing, skew p50 ${r.hold.skewMsP50} ms, p95 ${r.hold.skewMsP95} ms, max ${r.hold.skewMsMax} ms (${r.hold.samples} readings)`)
  return [line(header), ...rows.map(line), '', ...holds].join('\n')
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const why = netBedUnavailable()
  if (why !== null) {
    process.stderr.write(`bench:net cannot run here: ${why}\n`)
    process.exitCode = 1
    return
  }
  const runs: ScenarioRun[] = []
  for (const s of args.scenarios) {
    if (!args.json) process.stderr.write(`${s.name}: ${s.about}...\n`)
    runs.push(await runScenario(s))
  }
  if (args.json) process.stdout.write(JSON.stringify({ runs }) + '\n')
  else {
    process.stdout.write(table(runs) + '\n')
    process.stdout.write(`latency: user action -> every player in the new state; settle: until ${IN_STEP_SAMPLES} skew readings in a row are within one frame (asym: one frame + half the asymmetry)\n`)
  }
}

main().catch(err => {
  process.stderr.write(`bench:net failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
