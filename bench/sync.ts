/**
 * `npm run bench:sync [-- --json] [-- --seeds N] [-- --only a,b]`: runs every scenario of
 * sim/scenarios.ts over a few seeds in the simulator and prints skew, action latency, clock
 * offset error, rejoin time and corrective seeks, ours and the anchors' side by side.
 */
import { benchScenarios } from '../sim/scenarios.js'
import { runScenario, type RunResult } from '../sim/world.js'
import { percentile, max } from '../sim/stats.js'

/** Seeds per scenario: enough actions and rejoins for a p95, short enough to run in a minute or two. */
const DEFAULT_SEEDS = 5
const FIRST_SEED = 1000

interface Row {
  name: string
  nodes: number
  skewMsP50: number | null
  skewMsP95: number | null
  skewMsMax: number | null
  actionLatencyMsP95: number | null
  /** The same by kind: a resume (play), a pause, a seek. */
  playLatencyMsP95: number | null
  pauseLatencyMsP95: number | null
  seekLatencyMsP95: number | null
  /**
   * Measured actions that lost the Lamport order to another viewer's concurrent one: their latency
   * (in the figures above) runs to the room's converging on the winner.
   */
  lostRaceActions: number
  offsetErrorMsP95: number | null
  rejoinMs: number | null
  correctiveSeeksPerHour: number
}

function parseArgs (argv: string[]): { json: boolean, seeds: number, only: string[] | null } {
  let json = false
  let seeds = DEFAULT_SEEDS
  let only: string[] | null = null
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') json = true
    else if (a === '--seeds') seeds = Math.max(1, Number(argv[++i]))
    else if (a === '--only') only = (argv[++i] ?? '').split(',')
    else throw new Error(`unknown argument ${a}; use --json, --seeds N, --only a,b`)
  }
  return { json, seeds, only }
}

function round (v: number | null, digits = 1): number | null {
  if (v === null) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

function summarise (runs: RunResult[]): Row {
  const first = runs[0] as RunResult
  const all = (f: (r: RunResult) => number[]): number[] => runs.flatMap(f)
  const nodeHours = runs.reduce((h, r) => h + r.nodes * r.durationMs / 3_600_000, 0)
  return {
    name: first.name,
    nodes: first.nodes,
    skewMsP50: round(percentile(all(r => r.skewMs), 50)),
    skewMsP95: round(percentile(all(r => r.skewMs), 95)),
    skewMsMax: round(max(all(r => r.skewMs))),
    actionLatencyMsP95: round(percentile(all(r => r.actionLatencyMs), 95), 0),
    playLatencyMsP95: round(percentile(all(r => r.actionLatencyByKindMs.play), 95), 0),
    pauseLatencyMsP95: round(percentile(all(r => r.actionLatencyByKindMs.pause), 95), 0),
    seekLatencyMsP95: round(percentile(all(r => r.actionLatencyByKindMs.seek), 95), 0),
    lostRaceActions: runs.reduce((n, r) => n + r.actions.filter(a => a.judged === 'winner').length, 0),
    offsetErrorMsP95: round(percentile(all(r => r.offsetErrorMs), 95), 2),
    rejoinMs: round(percentile(all(r => r.rejoinMs), 95), 0),
    correctiveSeeksPerHour: round(runs.reduce((n, r) => n + r.correctiveSeeks, 0) / nodeHours, 2) ?? 0
  }
}

function table (rows: Row[], extra: Map<string, string>): string {
  const head = ['scenario', 'nodes', 'skew p50', 'skew p95', 'skew max', 'action p95', 'play/pause/seek p95', 'offset err p95', 'rejoin p95', 'seeks/node-h', 'notes']
  const fmt = (v: number | null, unit = ''): string => v === null ? '-' : `${v}${unit}`
  const lines = rows.map(r => [
    r.name, String(r.nodes), fmt(r.skewMsP50, ' ms'), fmt(r.skewMsP95, ' ms'), fmt(r.skewMsMax, ' ms'),
    fmt(r.actionLatencyMsP95, ' ms'), `${fmt(r.playLatencyMsP95)}/${fmt(r.pauseLatencyMsP95)}/${fmt(r.seekLatencyMsP95)} ms`, fmt(r.offsetErrorMsP95, ' ms'), fmt(r.rejoinMs, ' ms'), String(r.correctiveSeeksPerHour), extra.get(r.name) ?? ''
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map(l => (l[i] ?? '').length)))
  const row = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [row(head), row(widths.map(w => '-'.repeat(w))), ...lines.map(row)].join('\n')
}

function main (argv: string[]): number {
  const { json, seeds, only } = parseArgs(argv)
  const rows: Row[] = []
  const notes = new Map<string, string>()
  for (const spec of benchScenarios()) {
    if (only !== null && !only.includes(spec.name)) continue
    const runs: RunResult[] = []
    for (let k = 0; k < seeds; k++) runs.push(runScenario(spec, FIRST_SEED + k))
    rows.push(summarise(runs))
    const timeouts = runs.reduce((n, r) => n + r.actionTimeouts + r.rejoinTimeouts, 0)
    const disagree = runs.reduce((n, r) => n + r.disagreeingSamples, 0)
    const unconverged = runs.filter(r => !r.final.converged).map(r => r.seed)
    const rateCmdsPerHour = runs.reduce((n, r) => n + r.rateCommands, 0) / runs.reduce((h, r) => h + r.nodes * r.durationMs / 3_600_000, 0)
    const parts = [`rate cmds/node-h ${rateCmdsPerHour.toFixed(0)}`]
    const lost = rows[rows.length - 1]?.lostRaceActions ?? 0
    if (lost > 0) parts.push(`${lost} lost a race (to the winner)`)
    if (timeouts > 0) parts.push(`${timeouts} timeouts`)
    if (disagree > 0) parts.push(`${disagree} play/pause disagreements`)
    if (unconverged.length > 0) parts.push(`not converged: seeds ${unconverged.join(',')}`)
    notes.set(spec.name, parts.join('; '))
    if (!json) process.stderr.write(`${spec.name} done\n`)
  }
  if (json) {
    process.stdout.write(JSON.stringify({ scenarios: rows }) + '\n')
  } else {
    process.stdout.write(`watchmesh sync benchmark: ${seeds} seeds per scenario, simulated time, mpv-like players unless named\n\n`)
    process.stdout.write(table(rows, notes) + '\n')
  }
  return 0
}

process.exitCode = main(process.argv.slice(2))
