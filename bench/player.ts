/**
 * `npm run bench:player [-- --json]`: what the player layer achieves with real mpv, through each
 * backend: MPRIS (mpv-mpris on private buses; the top-level keys) and mpv's JSON IPC (no D-Bus);
 * `backends` holds the figures each backend shares (call round trip, position error, pair skew).
 *
 * - call round trip: Properties.Get(Position), as the layer issues it (IPC: get_property time-pos).
 * - Seeked latency: our SetPosition sent -> Seeked received, while playing and while paused.
 * - position error: the layer's estimate (state(), from its normal 4 Hz polling) against mpv's
 *   own time-pos read over JSON IPC. time-pos moves in whole frames too, so the reference is
 *   fitted from ~80 dense IPC reads (upper envelope, the same way the layer finds the phase, but
 *   with 20x the samples over another channel). Also shown: the error of one raw read.
 * - pair skew: two mpv instances, each on its own bus and driven only through the layer: pause,
 *   SetPosition to the same point, Play both at once; then the two reference lines are compared.
 * - the estimate error against the fake player in VLC-, Firefox- and Chromium-like modes (table
 *   only; the JSON is about real mpv).
 * With --json, exactly one JSON object is printed on stdout (progress goes to stderr).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { processNow } from '../src/clock.js'
import { connectBus, getProperty } from '../src/player/dbus.js'
import type { MessageBus } from '../src/player/dbus.js'
import { MprisPlayer, MPRIS_PATH, PLAYER_IFACE } from '../src/player/mpris.js'
import { MpvIpcPlayer } from '../src/player/mpv-ipc.js'
import { MpvSocket } from '../src/player/mpv-socket.js'
import type { Player } from '../src/player/player.js'
import { startBus } from '../test/fixtures/dbus.js'
import type { TestBus } from '../test/fixtures/dbus.js'
import { QUIRKS, startFakePlayer } from '../test/fixtures/fake-mpris.js'
import { makeMedia } from '../test/fixtures/media.js'
import { busDaemonCall, connectTestBus, startMpv } from '../test/fixtures/mpv.js'
import type { MpvProcess } from '../test/fixtures/mpv.js'
import { percentile as nearestRank } from '../sim/stats.js'

/** Nearest-rank percentile; NaN for no values (printed as null in JSON). */
const percentile = (values: number[], p: number): number => nearestRank(values, p) ?? NaN

const CALLS = 500
const SEEKS_PER_MODE = 20
const POSITION_TRIALS = 20
const PAIR_TRIALS = 7
/** Dense IPC reads for one reference fit: 80 reads ~3 ms apart span two frames several times. */
const REFERENCE_READS = 80
/** Let the layer poll for a while before judging its estimate (its envelope fills in ~6 s). */
const WARMUP_MS = 6_000

/** One real mpv followed through one backend: the layer, and one raw call of its protocol. */
interface Followed {
  mpv: MpvProcess
  player: Player
  /** One call as the layer issues it, resolving with the raw position (ms). */
  readPositionMs: () => Promise<number>
  close: () => Promise<void>
}
interface Viewer extends Followed { bus: TestBus, conn: MessageBus, player: MprisPlayer }


const round = (v: number, digits = 2): number => Number(v.toFixed(digits))
const progress = (msg: string): void => { process.stderr.write(`  ${msg}\n`) }

async function startViewer (file: string): Promise<Viewer> {
  const bus = await startBus()
  const mpv = await startMpv({ busAddress: bus.address, file, paused: true })
  const conn = await connectBus(bus.address, () => {})
  const player = new MprisPlayer({ bus: conn, busName: mpv.busName })
  await player.start()
  const readPositionMs = async (): Promise<number> => Number(await getProperty(conn, mpv.busName, MPRIS_PATH, PLAYER_IFACE, 'Position')) / 1000
  const close = async (): Promise<void> => {
    await player.close()
    conn.disconnect()
    await mpv.close()
    await bus.close()
  }
  return { bus, mpv, conn, player, readPositionMs, close }
}

/** mpv with no plugin and no bus, followed over its JSON IPC; raw calls go over a second connection. */
async function startIpcViewer (file: string): Promise<Followed> {
  const mpv = await startMpv({ file, paused: true })
  const player = new MpvIpcPlayer({ path: mpv.ipcPath })
  await player.start()
  const raw = await MpvSocket.connect(mpv.ipcPath)
  const readPositionMs = async (): Promise<number> => Number((await raw.command(['get_property', 'time-pos'])).data) * 1000
  const close = async (): Promise<void> => {
    raw.close()
    await player.close()
    await mpv.close()
  }
  return { mpv, player, readPositionMs, close }
}

async function stopViewer (v: Followed | undefined): Promise<void> {
  await v?.close()
}

/**
 * mpv's own continuous position as a line: reads time-pos densely over IPC, stamps each at the
 * midpoint of its round trip, and takes the upper envelope of (time-pos - time). Returns the
 * offset C such that position(t) = t + C while playing at rate 1.
 */
async function referenceOffset (mpv: MpvProcess): Promise<number> {
  let best = -Infinity
  for (let i = 0; i < REFERENCE_READS; i++) {
    const t0 = processNow()
    const pos = await mpv.timePosMs()
    const t1 = processNow()
    if (t1 - t0 < 2) best = Math.max(best, pos - (t0 + t1) / 2)
    await sleep(3)
  }
  return best
}

async function callRtt (v: Followed): Promise<number[]> {
  const rtts: number[] = []
  for (let i = 0; i < CALLS; i++) {
    const t0 = processNow()
    await v.readPositionMs()
    rtts.push(processNow() - t0)
  }
  return rtts
}

/** SetPosition through the layer, timed to the Seeked seen on a separate monitoring connection. */
async function seekedLatency (v: Viewer, playing: boolean): Promise<number[]> {
  const monitor = await connectTestBus(v.bus.address)
  await busDaemonCall(monitor, 'AddMatch', 's', [`type='signal',interface='${PLAYER_IFACE}',member='Seeked'`])
  let seen: ((atMs: number) => void) | null = null
  monitor.on('message', msg => { if (msg.member === 'Seeked') seen?.(processNow()) })
  const out: number[] = []
  try {
    await (playing ? v.player.play() : v.player.pause())
    for (let i = 0; i < SEEKS_PER_MODE; i++) {
      const got = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no Seeked within 2 s')), 2000)
        seen = at => { clearTimeout(timer); resolve(at) }
      })
      const t0 = processNow()
      await v.player.seek(10_000 + i * 1_000)
      out.push(await got - t0)
      seen = null
      await sleep(50)
    }
  } finally {
    monitor.disconnect()
  }
  return out
}

async function positionError (v: Followed): Promise<{ layer: number[], raw: number[] }> {
  await v.player.seek(5_000)
  await v.player.play()
  progress(`letting the layer poll for ${WARMUP_MS / 1000} s`)
  await sleep(WARMUP_MS)
  const layer: number[] = []
  const raw: number[] = []
  for (let i = 0; i < POSITION_TRIALS; i++) {
    const reference = await referenceOffset(v.mpv)
    const st = await v.player.state()
    layer.push(st.positionMs - (st.atMs + reference))
    const t0 = processNow()
    const posMs = await v.readPositionMs()
    const t1 = processNow()
    raw.push(posMs - ((t0 + t1) / 2 + reference))
    await sleep(200)
  }
  return { layer, raw }
}

async function pairSkew (a: Followed, b: Followed): Promise<number[]> {
  const skews: number[] = []
  for (let i = 0; i < PAIR_TRIALS; i++) {
    const target = 20_000 + i * 5_000
    await Promise.all([a.player.pause(), b.player.pause()])
    await Promise.all([a.player.seek(target), b.player.seek(target)])
    await sleep(300) // both settled on the frame
    await Promise.all([a.player.play(), b.player.play()])
    await sleep(500)
    // Interleave the two reference fits so clock drift between them does not count.
    const [ca, cb] = await Promise.all([referenceOffset(a.mpv), referenceOffset(b.mpv)])
    skews.push(ca - cb)
  }
  return skews
}

/**
 * The same estimate against the fake player in the quirk modes of other players (its truth is
 * exact): how well the layer can read VLC-, Firefox- and Chromium-like players.
 */
async function quirkErrors (): Promise<Array<{ mode: string, p50: number, p95: number, rawP95: number, granularityMs: number | null }>> {
  const modes = ['vlc', 'firefox', 'chromium'] as const
  return await Promise.all(modes.map(async mode => {
    const bus = await startBus()
    const fake = await startFakePlayer({ busAddress: bus.address, name: mode, quirks: QUIRKS[mode], playing: true, positionMs: 60_000 })
    const conn = await connectBus(bus.address, () => {})
    const player = new MprisPlayer({ bus: conn, busName: fake.busName })
    try {
      await player.start()
      await sleep(WARMUP_MS)
      const errors: number[] = []
      const raw: number[] = []
      for (let i = 0; i < POSITION_TRIALS; i++) {
        const st = await player.state()
        errors.push(Math.abs(st.positionMs - (fake.positionMs() - (processNow() - st.atMs))))
        const t0 = processNow()
        const posUs = await getProperty(conn, fake.busName, MPRIS_PATH, PLAYER_IFACE, 'Position')
        const t1 = processNow()
        raw.push(Math.abs(Number(posUs) / 1000 - (fake.positionMs() - (processNow() - (t0 + t1) / 2))))
        await sleep(150 + i * 7)
      }
      return {
        mode,
        p50: round(percentile(errors, 50)),
        p95: round(percentile(errors, 95)),
        rawP95: round(percentile(raw, 95)),
        granularityMs: player.capabilities().positionGranularityMs ?? null
      }
    } finally {
      await player.close()
      conn.disconnect()
      await fake.close()
      await bus.close()
    }
  }))
}

async function main (argv: string[]): Promise<number> {
  const json = argv.includes('--json')
  const unknown = argv.filter(a => a !== '--json')
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument ${unknown[0]}; use --json\n`)
    return 2
  }
  const file = await makeMedia()
  let a: Viewer | undefined
  let b: Viewer | undefined
  let ipcA: Followed | undefined
  let ipcB: Followed | undefined
  try {
    progress('starting mpv')
    a = await startViewer(file)
    progress(`${CALLS} Get(Position) calls`)
    const rtt = await callRtt(a)
    progress('Seeked latency')
    const seekedPaused = await seekedLatency(a, false)
    const seekedPlaying = await seekedLatency(a, true)
    progress('position estimate against mpv time-pos')
    const pos = await positionError(a)
    progress('pair skew with a second mpv')
    b = await startViewer(file)
    const skews = await pairSkew(a, b)
    await stopViewer(b)
    await stopViewer(a)
    a = b = undefined
    progress('mpv over JSON IPC: call round trip, position estimate, pair skew')
    ipcA = await startIpcViewer(file)
    const ipcRtt = await callRtt(ipcA)
    const ipcPos = await positionError(ipcA)
    ipcB = await startIpcViewer(file)
    const ipcSkews = await pairSkew(ipcA, ipcB)
    progress('other players\' quirks (fake player)')
    const quirks = await quirkErrors()

    const abs = (xs: number[]): number[] => xs.map(Math.abs)
    const result = {
      player: 'mpv 0.35 + mpv-mpris',
      callRttMsP50: round(percentile(rtt, 50), 3),
      callRttMsP99: round(percentile(rtt, 99), 3),
      seekedMsP50: round(percentile(seekedPlaying, 50)),
      positionErrorMsP95: round(percentile(abs(pos.layer), 95)),
      pairSkewMs: round(percentile(abs(skews), 50)),
      backends: [] as Array<{ player: string, callRttMsP50: number, callRttMsP99: number, positionErrorMsP95: number, pairSkewMs: number }>
    }
    result.backends.push(
      { player: 'mpv-mpris', callRttMsP50: result.callRttMsP50, callRttMsP99: result.callRttMsP99, positionErrorMsP95: result.positionErrorMsP95, pairSkewMs: result.pairSkewMs },
      {
        player: 'mpv-ipc',
        callRttMsP50: round(percentile(ipcRtt, 50), 3),
        callRttMsP99: round(percentile(ipcRtt, 99), 3),
        positionErrorMsP95: round(percentile(abs(ipcPos.layer), 95)),
        pairSkewMs: round(percentile(abs(ipcSkews), 50))
      }
    )
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n')
      return 0
    }
    const rows: Array<[string, string]> = [
      ['player', result.player],
      ['Get(Position) round trip p50 / p99', `${result.callRttMsP50} / ${result.callRttMsP99} ms`],
      ['Seeked after SetPosition p50, playing / paused', `${result.seekedMsP50} / ${round(percentile(seekedPaused, 50))} ms`],
      ['position estimate error p50 / p95 (layer)', `${round(percentile(abs(pos.layer), 50))} / ${result.positionErrorMsP95} ms`],
      ['position error p50 / p95 (one raw read)', `${round(percentile(abs(pos.raw), 50))} / ${round(percentile(abs(pos.raw), 95))} ms`],
      ['pair skew after SetPosition + Play, median / max', `${result.pairSkewMs} / ${round(Math.max(...abs(skews)))} ms (${PAIR_TRIALS} trials)`],
      ...result.backends.map((r): [string, string] => [`${r.player}: call p50 / p99, estimate error p95, pair skew median`,
        `${r.callRttMsP50} / ${r.callRttMsP99} ms, ${r.positionErrorMsP95} ms, ${r.pairSkewMs} ms`]),
      ['mpv-ipc: position error p50 / p95 (one raw read)', `${round(percentile(abs(ipcPos.raw), 50))} / ${round(percentile(abs(ipcPos.raw), 95))} ms`],
      ...quirks.map((q): [string, string] => [`fake ${q.mode}: estimate error p50 / p95 (raw read p95)`,
        `${q.p50} / ${q.p95} ms (${q.rawP95} ms), granularity ${q.granularityMs === null ? '?' : round(q.granularityMs, 0)} ms`])
    ]
    const width = Math.max(...rows.map(r => r[0].length))
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`)
    return 0
  } finally {
    await stopViewer(b)
    await stopViewer(a)
    await stopViewer(ipcB)
    await stopViewer(ipcA)
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`bench:player failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
