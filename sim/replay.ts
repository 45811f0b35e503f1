/**
 * Replays one simulated run: `node dist/sim/replay.js <scenario name | random | random-mpv> <seed> [--trace FROM_MS TO_MS]`.
 * Property tests print the seed of a failing run; this shows what that run measured.
 */
import { benchScenarios, randomScenario } from './scenarios.js'
import { Rng } from './rng.js'
import { World } from './world.js'
import { percentile } from './stats.js'

function main (argv: string[]): number {
  const [name, seedText, flag, fromText, toText] = argv
  const seed = Number(seedText)
  if (name === undefined || !Number.isInteger(seed)) {
    process.stderr.write('usage: replay <scenario name | random | random-mpv> <seed> [--trace FROM_MS TO_MS]\n')
    return 2
  }
  const spec = name === 'random' || name === 'random-mpv'
    ? randomScenario(new Rng(seed).fork('scenario'), { stalePlayers: name === 'random' })
    : benchScenarios().find(s => s.name === name)
  if (spec === undefined) {
    process.stderr.write(`no scenario named ${name}\n`)
    return 2
  }
  const world = new World(spec, seed)
  if (flag === '--trace') {
    // --trace FROM_MS TO_MS: every engine call in that window of true time.
    const fromMs = Number(fromText ?? 0)
    const toMs = Number(toText ?? Infinity)
    world.trace = (t, node, input, actions, positions) => {
      if (t < fromMs || t > toMs || input.type === 'clock-sample') return
      const acts = actions.filter(a => a.type !== 'wake').map(a => a.type === 'player' ? JSON.stringify(a.cmd) : a.type === 'notice' ? `notice:${a.notice.kind}` : `${a.type}:${'msg' in a ? a.msg.type : ''}`)
      const what = input.type === 'message' ? `message:${input.msg.type}` : input.type === 'user' ? `user:${input.action.kind}@${input.action.observed.positionMs.toFixed(0)}` : input.type === 'player-status' ? `status ${input.observed.playing ? '>' : '||'} ${input.observed.positionMs.toFixed(0)}` : input.type
      process.stdout.write(`${t.toFixed(1).padStart(10)} n${node} ${what.padEnd(28)} ${acts.join(' ').padEnd(40)} | ${positions.map(p => p.toFixed(0)).join(' ')}\n`)
    }
  }
  const r = world.run()
  const p = (v: number[], q: number): string => percentile(v, q)?.toFixed(1) ?? '-'
  process.stdout.write([
    `${r.name} seed ${r.seed}: ${r.nodes} nodes, ${(r.durationMs / 1000).toFixed(0)} s, ${r.userActions} user actions`,
    `worst skew ${r.worstSkew.skewMs.toFixed(1)} ms at ${r.worstSkew.atMs.toFixed(0)} ms; slowest action ${r.worstAction.latencyMs.toFixed(0)} ms at ${r.worstAction.atMs.toFixed(0)} ms; paused skew max ${r.pausedSkewMaxMs.toFixed(1)} ms`,
    `skew: ${r.skewMs.length} samples, p50 ${p(r.skewMs, 50)} p95 ${p(r.skewMs, 95)} p99 ${p(r.skewMs, 99)} max ${p(r.skewMs, 100)} ms; ${r.disagreeingSamples} play/pause disagreements`,
    `action latency: ${r.actionLatencyMs.length} measured, p50 ${p(r.actionLatencyMs, 50)} p95 ${p(r.actionLatencyMs, 95)} max ${p(r.actionLatencyMs, 100)} ms; ${r.actionTimeouts} timeouts`,
    `lost to a concurrent action (latency to the winner): ${r.actions.filter(a => a.judged === 'winner').map(a => `n${a.node} ${a.kind} at ${a.atMs.toFixed(0)} ms: ${a.latencyMs.toFixed(0)} ms`).join(', ') || '-'}`,
    `offset error: p50 ${p(r.offsetErrorMs, 50)} p95 ${p(r.offsetErrorMs, 95)} max ${p(r.offsetErrorMs, 100)} ms`,
    `rejoin: ${r.rejoinMs.map(v => v.toFixed(0)).join(', ') || '-'} ms; ${r.rejoinTimeouts} timeouts`,
    `corrective seeks ${r.correctiveSeeks}, rate commands ${r.rateCommands}, engine plays ${r.engineStarts}`,
    `final: ${r.final.converged ? 'converged' : 'NOT converged'}, skew ${r.final.skewMs.toFixed(1)} ms, stamps ${r.final.stamps.join(' ')}, playing ${r.final.playing.join(' ')}`
  ].join('\n') + '\n')
  return 0
}

process.exitCode = main(process.argv.slice(2))
