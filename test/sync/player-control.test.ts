import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PlayerControl, type ControlHost } from '../../src/sync/player-control.js'
import { MIN_SEEK_READS, RATE_MISMATCH_MS, resolveConfig, SEEK_CORRECTION_UNNUDGEABLE_MS, SEEK_LEAD_FACTOR, SEEK_LEAD_MARGIN_MS, SEEK_LEAD_MS, START_LATENCY_MS } from '../../src/sync/config.js'
import { positionAt } from '../../src/sync/timeline.js'
import type { Action, LearntPlayer, PlaybackState, PlayerAbilities, PlayerObservation } from '../../src/sync/types.js'
import { priorsFor } from '../../src/player/quirks.js'

/** One frame at 25 fps: how far apart players may be. */
const FRAME_MS = 40

const media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_200_000 }
const abilities = { canSeek: true, canPause: true, rateMin: 0.5, rateMax: 2 }

/** A host whose timeline is `state` on a clock at offset `offsetMs` (null: unknown). */
function host (state: PlaybackState, offsetMs: number | null): ControlHost {
  return {
    state,
    expectedAt: (tMs) => positionAt(state, state.playing ? offsetMs : null, tMs),
    clockOffsetMs: () => offsetMs,
    refineOwnState: () => false,
    syncPlayer: () => {}
  }
}
const reading = (atMs: number, positionMs: number, playing: boolean): PlayerObservation => ({ playing, positionMs, atMs, rate: 1, media })
const commands = (out: Action[]): unknown[] => out.flatMap(a => a.type === 'player' ? [a.cmd] : [])

test('a paused state is one pause at exactly its position', () => {
  const s: PlaybackState = { media, playing: false, positionMs: 42_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(0, 10_000, true), 0)
  const out: Action[] = []
  assert.equal(c.apply(100, out), true)
  assert.deepEqual(commands(out), [{ op: 'pause', positionMs: 42_000 }])
})

test('a playing state far from the player is a scheduled start: play one seek lead from now, resting where the timeline is the start latency before', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(1000, 5000, true), 1000)
  const out: Action[] = []
  c.apply(1000, out)
  // mpv jumps a frame ahead on play (latency -40 ms): it rests a frame behind where it runs from.
  const startAtMs = 1000 + SEEK_LEAD_MS + START_LATENCY_MS
  assert.deepEqual(commands(out), [{ op: 'pause', positionMs: 60_000 + startAtMs }])
  const playAtMs = startAtMs - START_LATENCY_MS
  assert.equal(c.nextDueMs(1000), playAtMs, 'it wakes for the play')
  const later: Action[] = []
  c.runDue(playAtMs - 5, playAtMs - 4, later)
  assert.deepEqual(commands(later), [], 'not before its time')
  c.runDue(playAtMs, playAtMs + 1, later)
  assert.deepEqual(commands(later), [{ op: 'play' }])
  assert.equal(c.nextDueMs(playAtMs), null)
})

/** One start of `c` at `t`: the pause-and-seek, its landing read `readAfterMs` later (null: never), the play; returns its lead. */
function startOnce (c: PlayerControl, t: number, readAfterMs: number | null): number {
  const out: Action[] = []
  c.scheduleStart(t, out)
  const pause = commands(out)[0] as { positionMs: number }
  if (readAfterMs !== null) c.reading(reading(t + readAfterMs, pause.positionMs, false), t + readAfterMs, [])
  const playAtMs = c.nextDueMs(t) as number
  c.runDue(playAtMs, playAtMs, [])
  return playAtMs - t
}

test('the seek lead is learnt from how soon the starts\' landings are read, and goes back up when one is not read in time', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(0, 5000, true), 0)
  const landedAfterMs = 6
  const start = (t: number, readAfterMs: number | null): number => startOnce(c, t, readAfterMs)
  const leads: number[] = []
  for (let k = 0; k < MIN_SEEK_READS + 1; k++) leads.push(start(10_000 * (k + 1), landedAfterMs))
  const learnt = SEEK_LEAD_FACTOR * landedAfterMs + SEEK_LEAD_MARGIN_MS
  assert.deepEqual(leads.map(Math.round), [...Array(MIN_SEEK_READS).fill(SEEK_LEAD_MS), learnt], 'the configured lead until enough landings were read, then the learnt one')
  assert.equal(c.seekLeadMs, learnt)
  // A landing not read by the play: the configured lead again.
  start(100_000, null)
  assert.equal(c.seekLeadMs, SEEK_LEAD_MS)
})

test('a lead learnt for the player\'s kind before (a restarted daemon) is used from the first start, and dropped when a start plays before its landing is read', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const learnAt = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  learnAt.attached(abilities, reading(0, 5000, true), 0)
  const start = startOnce
  for (let k = 0; k < MIN_SEEK_READS; k++) start(learnAt, 10_000 * (k + 1), 5)
  const learntMs = SEEK_LEAD_FACTOR * 5 + SEEK_LEAD_MARGIN_MS
  assert.equal(learnAt.learnt.seekLeadMs, learntMs, 'the learnt lead is part of what is remembered')

  // The next daemon: taught what the first learnt, its very first start uses it.
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(0, 5000, true), 0, learnAt.learnt)
  assert.equal(Math.round(start(c, 10_000, 5)), learntMs)
  assert.equal(c.learnt.seekLeadMs, learntMs, 'and keeps it while its own landings are too few to judge by')
  // A start whose landing is not read in time: the remembered lead is too short here and now.
  start(c, 20_000, null)
  assert.equal(c.seekLeadMs, SEEK_LEAD_MS)
  // Without a record, the configured lead, as before.
  const fresh = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  fresh.attached(abilities, reading(0, 5000, true), 0)
  assert.equal(Math.round(start(fresh, 10_000, 5)), SEEK_LEAD_MS)
})

test('a playing state on a clock we cannot read is not applied (the rate is followed meanwhile)', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, null))
  c.attached(abilities, reading(1000, 5000, true), 1000)
  const out: Action[] = []
  assert.equal(c.apply(1000, out), false)
  assert.deepEqual(commands(out), [])
})

/**
 * A paused player in simulated time brought to a playing timeline, read every 100 ms: `play(t,
 * where)` says where it runs from and when after a `play` at `t`; `lagMs(k)`, how far its k-th
 * playing reading lags the truth (none by default). The engine starts from `learnt` (undefined:
 * its own first guesses, mpv's). Returns the true error at each reading, and the commands it got.
 */
function runStarts (opts: { learnt?: Partial<LearntPlayer>, play: (t: number, positionMs: number) => { positionMs: number, atMs: number }, lagMs?: (k: number) => number }, forMs: number): { errors: Array<{ atMs: number, errMs: number }>, out: Action[], c: PlayerControl } {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  const player = { playing: false, positionMs: 5000, atMs: 0, rate: 1 }
  const where = (t: number): number => player.positionMs + (player.playing ? Math.max(0, t - player.atMs) * player.rate : 0)
  let k = 0
  const reads = (t: number): number => player.playing ? where(t) - (opts.lagMs?.(k++) ?? 0) : where(t)
  const all: Action[] = []
  const obey = (out: Action[], t: number): void => {
    for (const a of out) {
      if (a.type !== 'player') continue
      const cmd = a.cmd
      if (cmd.op === 'pause') Object.assign(player, { positionMs: cmd.positionMs ?? where(t), atMs: t, playing: false })
      else if (cmd.op === 'play') Object.assign(player, opts.play(t, where(t)), { playing: true })
      else if (cmd.op === 'rate') Object.assign(player, { positionMs: where(t), atMs: t, rate: cmd.rate })
    }
    all.push(...out)
  }
  c.attached(abilities, reading(0, 5000, false), 0, opts.learnt)
  const first: Action[] = []
  c.apply(0, first)
  obey(first, 0)
  return { errors: drive(c, s, { where, reads, player }, obey, forMs), out: all, c }
}

/**
 * A player whose starts land `missesMs[i]` ahead of where `play` should take it (a machine under
 * load: the first starts of a fresh mpv), exact afterwards.
 */
function runStartsThatMiss (missesMs: number[], forMs: number): { errors: Array<{ atMs: number, errMs: number }>, out: Action[], c: PlayerControl } {
  let starts = 0
  // mpv's start latency as the engine assumes it, plus this start's miss.
  return runStarts({ play: (t, positionMs) => ({ positionMs: positionMs - START_LATENCY_MS + (missesMs[starts++] ?? 0), atMs: t }) }, forMs)
}

/**
 * Runs `c` in simulated time, 10 ms a step: its timers, and a reading of the player every 100 ms,
 * whose commands `obey` carries out. While `frozen(t)`, the daemon does nothing (the player plays
 * on). Returns the player's error against the timeline at each reading while it plays.
 */
function drive (c: PlayerControl, s: PlaybackState, p: { where: (t: number) => number, reads?: (t: number) => number, uncertainty?: (t: number) => number, player: { playing: boolean, rate: number } }, obey: (out: Action[], t: number) => void, forMs: number, frozen: (t: number) => boolean = () => false, fromMs = 0): Array<{ atMs: number, errMs: number }> {
  const errors: Array<{ atMs: number, errMs: number }> = []
  for (let t = fromMs; t <= forMs; t += 10) {
    if (frozen(t)) continue
    const due = c.nextDueMs(t)
    if (due !== null && due <= t) {
      const out: Action[] = []
      c.runDue(t, t, out)
      obey(out, t)
    }
    if (t % 100 === 50) {
      const out: Action[] = []
      const fitted = p.uncertainty === undefined || !p.player.playing ? {} : { uncertaintyMs: p.uncertainty(t) }
      c.reading({ ...reading(t, (p.reads ?? p.where)(t), p.player.playing), rate: p.player.rate, ...fitted }, t, out)
      obey(out, t)
      if (p.player.playing) errors.push({ atMs: t, errMs: p.where(t) - (positionAt(s, 0, t) ?? 0) })
    }
  }
  return errors
}

test('a start that lands hundreds of ms off, and whose redo does too, is re-synced at once, not nudged for seconds', () => {
  for (const missesMs of [[500, 500], [-400, -400], [1200, 500, 500], [800, 300, 800]]) {
    const { errors, out } = runStartsThatMiss(missesMs, 20_000)
    const IN_STEP_BY_MS = 3000
    const late = errors.filter(e => e.atMs >= IN_STEP_BY_MS)
    const worst = Math.max(...late.map(e => Math.abs(e.errMs)))
    const seen = errors.filter((_, i) => i % 5 === 0).map(e => `${e.atMs}:${e.errMs.toFixed(0)}`).join(' ')
    assert.ok(worst <= 40, `starts missing by ${missesMs.join(', ')} ms: still ${worst.toFixed(0)} ms off after ${IN_STEP_BY_MS} ms; errors (t:ms) ${seen}`)
    // A miss of a second or more is left to the drift correction's re-sync: one start more.
    const plays = commands(out).filter(c => (c as { op: string }).op === 'play').length
    assert.ok(plays <= missesMs.length + 2, `${plays} starts for misses of ${missesMs.join(", ")} ms: a loop; errors (t:ms) ${seen}`)
  }
})

/**
 * A player brought onto a playing 1x timeline by an exact start; at 5 s the room changes: to
 * `change.rate` (a speed change, landed by a start) or, at 1x, by a seek of 10 s (a start at the
 * room's speed). That start lands `missMs` off where `play` should take the player. Returns the
 * start latency before the change and after the player has been followed for 5 s more.
 */
function latencyAcrossChange (change: { rate: number, seekMs: number }, missMs: number): { beforeMs: number, afterMs: number, errors: string } {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  const player = { playing: false, positionMs: 5000, atMs: 0, rate: 1 }
  const where = (t: number): number => player.positionMs + (player.playing ? Math.max(0, t - player.atMs) * player.rate : 0)
  let starts = 0
  const obey = (out: Action[], t: number): void => {
    for (const a of out) {
      if (a.type !== 'player') continue
      const cmd = a.cmd
      if (cmd.op === 'pause') Object.assign(player, { positionMs: cmd.positionMs ?? where(t), atMs: t, playing: false })
      // mpv's latency as the engine first assumes it (-40 ms: it runs from a frame ahead), and the miss from the second start on.
      else if (cmd.op === 'play') Object.assign(player, { positionMs: where(t) - START_LATENCY_MS * player.rate + (starts++ === 0 ? 0 : missMs), atMs: t, playing: true })
      else if (cmd.op === 'rate') Object.assign(player, { positionMs: where(t), atMs: t, rate: cmd.rate })
    }
  }
  c.attached(abilities, reading(0, 5000, false), 0)
  const first: Action[] = []
  c.apply(0, first)
  obey(first, 0)
  const CHANGE_AT_MS = 5000
  const seen = drive(c, s, { where, player }, obey, CHANGE_AT_MS - 10)
  const beforeMs = c.startLatencyMs
  Object.assign(s, { positionMs: (positionAt(s, 0, CHANGE_AT_MS) ?? 0) + change.seekMs, atMs: CHANGE_AT_MS, rate: change.rate, stamp: { lamport: 2, nodeId: 'b' } })
  c.forgetStartChecks()
  if (change.rate !== 1) c.speedChangedElsewhere()
  const out: Action[] = []
  c.apply(CHANGE_AT_MS, out)
  obey(out, CHANGE_AT_MS)
  seen.push(...drive(c, s, { where, player }, obey, CHANGE_AT_MS + 5000, () => false, CHANGE_AT_MS + 10))
  return { beforeMs, afterMs: c.startLatencyMs, errors: seen.filter((_, i) => i % 5 === 0).map(e => `${e.atMs}:${e.errMs.toFixed(0)}`).join(' ') }
}

test('a start that lands a new speed teaches no start latency; a start at the room\'s speed that misses as far does', () => {
  // Followers of a 1.25x change on real mpv landed 8-34 ms behind, learnt their latency up by 7-27
  // ms from it, and the next change's start (1.5x) put one of them 61 ms ahead.
  const MISS_MS = -30
  for (const rate of [1.25, 1.5, 0.75]) {
    const speed = latencyAcrossChange({ rate, seekMs: 0 }, MISS_MS)
    assert.equal(speed.afterMs, speed.beforeMs, `${rate}x: learnt ${speed.afterMs.toFixed(1)} ms (was ${speed.beforeMs.toFixed(1)}); errors (t:ms) ${speed.errors}`)
  }
  const seek = latencyAcrossChange({ rate: 1, seekMs: 10_000 }, MISS_MS)
  assert.ok(seek.afterMs > seek.beforeMs + 10, `a seek's start that missed by ${MISS_MS} ms teaches the latency: ${seek.beforeMs.toFixed(1)} -> ${seek.afterMs.toFixed(1)} ms; errors (t:ms) ${seek.errors}`)
})

test('a start that missed by more than a latency can be wrong by teaches no start latency, also when its track is mature', () => {
  // 1200 ms is left to the drift correction, which sees it on the first mature estimate; it once
  // taught -140 ms (the step's bound), and the later starts of an exact player landed 100 ms behind.
  const { c, errors } = runStartsThatMiss([1200], 10_000)
  assert.equal(c.startLatencyMs, START_LATENCY_MS, `errors (t:ms) ${errors.filter((_, i) => i % 5 === 0).map(e => `${e.atMs}:${e.errMs.toFixed(0)}`).join(' ')}`)
})

/**
 * A VLC-like player: on `play` it runs from the frame it rests on `startLatencyMs` later (mpv runs
 * a frame ahead at once), and its readings lag the truth by 0-40 ms (the player layer's estimate
 * of VLC's stale value).
 */
function runVlcStart (learnt: Partial<LearntPlayer> | undefined, startLatencyMs: number, forMs: number): { errors: Array<{ atMs: number, errMs: number }>, out: Action[] } {
  const LAGS_MS = [31, 8, 22, 40, 3, 17, 35, 12, 26, 0]
  return runStarts({ learnt, play: (t, positionMs) => ({ positionMs, atMs: t + startLatencyMs }), lagMs: k => LAGS_MS[k % LAGS_MS.length] as number }, forMs)
}

test('a fresh VLC\'s first start is judged with what is known of VLC, not restarted again and again', () => {
  const restarts = (out: Action[]): number => out.filter(a => a.type === 'notice' && a.notice.kind === 'correction' && a.notice.how === 'restart').length
  const plays = (out: Action[]): number => commands(out).filter(cmd => (cmd as { op: string }).op === 'play').length
  // VLC ran 40-100 ms after Play on a loaded 2-core host (engine traces of bench:vlc).
  for (const startLatencyMs of [30, 60, 100]) {
    const { errors, out } = runVlcStart(priorsFor('org.mpris.MediaPlayer2.vlc'), startLatencyMs, 10_000)
    assert.equal(restarts(out), 0, `VLC starting ${startLatencyMs} ms after Play: restarted; errors (t:ms) ${errorsSeen(errors)}`)
    assert.equal(plays(out), 1, `VLC starting ${startLatencyMs} ms after Play: ${plays(out)} starts; errors (t:ms) ${errorsSeen(errors)}`)
    const worst = Math.max(...errors.filter(e => e.atMs >= 6000).map(e => Math.abs(e.errMs)))
    assert.ok(worst <= FRAME_MS, `VLC starting ${startLatencyMs} ms after Play: ${worst.toFixed(0)} ms off after 6 s; errors (t:ms) ${errorsSeen(errors)}`)
  }
  // With mpv's first guesses (it runs a frame ahead), a VLC slow to start under load lands over
  // 100 ms behind: taken for a failed seek, redone without learning, again and again.
  const before = runVlcStart(undefined, 100, 10_000)
  assert.ok(restarts(before.out) >= 2, `mpv's guesses: ${restarts(before.out)} restarts; errors (t:ms) ${errorsSeen(before.errors)}`)
  // mpv has no priors: the engine's own first guesses are mpv's.
  assert.deepEqual(priorsFor('org.mpris.MediaPlayer2.mpv'), {})
  assert.deepEqual(priorsFor('org.mpris.MediaPlayer2.mpv.instance42'), {})
  assert.deepEqual(priorsFor('mpv IPC /tmp/mpvsocket'), {})
})

test('a player whose every start lands far off is not re-synced in a loop', () => {
  const { out } = runStartsThatMiss(Array(100).fill(500), 60_000)
  const plays = commands(out).filter(c => (c as { op: string }).op === 'play').length
  assert.ok(plays <= 12, `${plays} starts in a minute`)
})

test('a player that runs at the rate we set, as it rounds it (VLC: 1.01 as 1.010101), is not asked again; another rate is', () => {
  const s: PlaybackState = { media, playing: true, positionMs: 0, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  for (const [runsAt, askedAgain] of [[1000 / 990, false], [1.25, true]] as const) {
    const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
    c.attached(abilities, reading(0, 0, true), 0)
    const out: Action[] = []
    c.commandRate(1.01, 0, out)
    // On the timeline throughout: only the rate can be at issue.
    for (let atMs = 100; atMs <= 3 * RATE_MISMATCH_MS; atMs += 100) c.reading({ ...reading(atMs, atMs, true), rate: runsAt }, atMs, out)
    const again = commands(out).filter(cmd => JSON.stringify(cmd) === JSON.stringify({ op: 'rate', rate: 1.01 })).length > 1
    assert.equal(again, askedAgain, `running at ${runsAt}`)
  }
})

/**
 * A playing player `offMs` off the timeline (behind: negative), read every 100 ms, obeying at once;
 * with `freezeMs`, the daemon is frozen (no reading, no timer: a suspended laptop, SIGSTOP) from
 * 100 ms after its first move began, while the player plays on at whatever rate it was given.
 * Returns the errors seen at each reading, when the daemon woke, and the control.
 */
function runDrifting (offMs: number, freezeMs: number, forMs: number, caps: PlayerAbilities = abilities, fit?: Fit): { errors: Array<{ atMs: number, errMs: number }>, thawMs: number | null, c: PlayerControl, out: Action[] } {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  const player = { playing: true, positionMs: 60_000 + offMs, atMs: 0, rate: 1 }
  const where = (t: number): number => player.positionMs + (player.playing ? (t - player.atMs) * player.rate : 0)
  // A player the layer fits itself: its estimate, and how sure of it the layer is, since its last jump (player.atMs).
  const fitted = fit === undefined ? {} : { reads: (t: number) => where(t) + fit(t - player.atMs).scatterMs, uncertainty: (t: number) => fit(t - player.atMs).uncertaintyMs }
  const all: Action[] = []
  let frozen: { fromMs: number, toMs: number } | null = null
  const obey = (out: Action[], t: number): void => {
    for (const a of out) {
      if (a.type !== 'player') continue
      const cmd = a.cmd
      if (cmd.op === 'pause') Object.assign(player, { positionMs: cmd.positionMs ?? where(t), atMs: t, playing: false })
      else if (cmd.op === 'play') Object.assign(player, { positionMs: where(t) - START_LATENCY_MS, atMs: t, playing: true })
      else if (cmd.op === 'rate') {
        // A player whose short rate changes do not move it (VLC) goes on where it was.
        if (caps.nudgeable !== false) Object.assign(player, { positionMs: where(t), atMs: t, rate: cmd.rate })
        if (freezeMs > 0 && frozen === null && cmd.rate !== 1) frozen = { fromMs: t + 100, toMs: t + 100 + freezeMs }
      }
    }
    all.push(...out)
  }
  c.attached(caps, reading(0, where(0), true), 0)
  const errors = drive(c, s, { where, player, ...fitted }, obey, forMs, t => frozen !== null && t >= frozen.fromMs && t < frozen.toMs)
  return { errors, thawMs: frozen === null ? null : (frozen as { toMs: number }).toMs, c, out: all }
}

function errorsSeen (errors: Array<{ atMs: number, errMs: number }>): string {
  return errors.filter((_, i) => i % 5 === 0).map(e => `${e.atMs}:${e.errMs.toFixed(0)}`).join(' ')
}

test('a daemon frozen while a move ran (the nudged rate went on) puts its player back at once when it wakes, and learns no jump from it', () => {
  for (const freezeMs of [2000, 5300, 18_000]) {
    const { errors, thawMs, c } = runDrifting(-30, freezeMs, freezeMs + 15_000)
    assert.ok(thawMs !== null, 'a move was made and the daemon frozen during it')
    // Back within a frame soon after waking (a move at 5 % would take seconds per 100 ms), and it stays there.
    const BACK_WITHIN_MS = 1000
    const after = errors.filter(e => e.atMs >= thawMs + BACK_WITHIN_MS)
    const worst = Math.max(...after.map(e => Math.abs(e.errMs)))
    assert.ok(worst <= 40, `frozen ${freezeMs} ms: ${worst.toFixed(0)} ms off after waking at ${thawMs} ms; errors (t:ms) ${errorsSeen(errors)}`)
    assert.ok(c.rateJumpMs < 10, `frozen ${freezeMs} ms: learnt a rate jump of ${c.rateJumpMs.toFixed(1)} ms from the overshoot`)
  }
})

test('an error of a few hundred ms is mended by one re-sync, not a move of seconds; small drift by moves only', () => {
  for (const offMs of [-260, 200, -160]) {
    const { errors, out } = runDrifting(offMs, 0, 12_000)
    // The first judgement needs a mature track (2 s of readings); a re-sync then takes a fraction of a second.
    const BACK_BY_MS = 3000
    const worst = Math.max(...errors.filter(e => e.atMs >= BACK_BY_MS).map(e => Math.abs(e.errMs)))
    assert.ok(worst <= 40, `${offMs} ms off: still ${worst.toFixed(0)} ms off after ${BACK_BY_MS} ms; errors (t:ms) ${errorsSeen(errors)}`)
    const plays = commands(out).filter(cmd => (cmd as { op: string }).op === 'play').length
    assert.ok(plays >= 1 && plays <= 2, `${offMs} ms off: ${plays} starts`)
  }
  for (const offMs of [-30, 45, -100]) {
    const { errors, out } = runDrifting(offMs, 0, 12_000)
    const starts = commands(out).filter(cmd => (cmd as { op: string }).op !== 'rate')
    assert.deepEqual(starts, [], `${offMs} ms off: a move, not a re-sync; errors (t:ms) ${errorsSeen(errors)}`)
  }
})

test('a player that short rate changes do not move (VLC) is never nudged: under SEEK_CORRECTION_UNNUDGEABLE_MS it is left alone, further off it is re-synced', () => {
  const vlcLike: PlayerAbilities = { ...abilities, nudgeable: false }
  assert.ok(SEEK_CORRECTION_UNNUDGEABLE_MS < FRAME_MS, 'the bar is under a frame, so a re-sync lands within one')
  for (const offMs of [-20, 15, SEEK_CORRECTION_UNNUDGEABLE_MS - 5]) {
    const { errors, out } = runDrifting(offMs, 0, 12_000, vlcLike)
    assert.deepEqual(commands(out), [], `${offMs} ms off: commanded; errors (t:ms) ${errorsSeen(errors)}`)
  }
  // Just over the bar (a VLC that landed 40-48 ms behind stayed there at the no-Rate bar of 50 ms), and far off.
  for (const offMs of [-(SEEK_CORRECTION_UNNUDGEABLE_MS + 5), SEEK_CORRECTION_UNNUDGEABLE_MS + 5, -45, -100, 70, -260, 600]) {
    const { errors, out } = runDrifting(offMs, 0, 12_000, vlcLike)
    const rates = commands(out).filter(cmd => (cmd as { op: string }).op === 'rate')
    assert.deepEqual(rates, [], `${offMs} ms off: nudged; errors (t:ms) ${errorsSeen(errors)}`)
    const plays = commands(out).filter(cmd => (cmd as { op: string }).op === 'play').length
    assert.ok(plays >= 1 && plays <= 2, `${offMs} ms off: ${plays} starts; errors (t:ms) ${errorsSeen(errors)}`)
    const BACK_BY_MS = 3000
    const worst = Math.max(...errors.filter(e => e.atMs >= BACK_BY_MS).map(e => Math.abs(e.errMs)))
    assert.ok(worst <= FRAME_MS, `${offMs} ms off: still ${worst.toFixed(0)} ms off after ${BACK_BY_MS} ms; errors (t:ms) ${errorsSeen(errors)}`)
  }
})

/**
 * VLC's estimate as the player layer fits it from its step edges after a jump: one fitted edge a
 * second from 1 s on, each halving what the edges leave of the phase (from ±50 ms, the spacing of
 * the reads), the estimate somewhere in that band: here at 0.9 of it, alternating sides edge by edge.
 * Before the first edge the anchor stands in, sure to half a step.
 */
type Fit = (sinceJumpMs: number) => { scatterMs: number, uncertaintyMs: number }
const vlcFit: Fit = sinceJumpMs => {
  const edges = Math.floor(sinceJumpMs / 1000)
  if (edges === 0) return { scatterMs: 0, uncertaintyMs: 500 }
  const uncertaintyMs = 50 / 2 ** (edges - 1)
  return { scatterMs: (edges % 2 === 1 ? 0.9 : -0.9) * uncertaintyMs, uncertaintyMs }
}

test('a player the layer fits itself (VLC) is corrected by what it is surely off by: its early scatter moves nothing, a clear miss is re-synced once sure', () => {
  const vlcLike: PlayerAbilities = { ...abilities, nudgeable: false }
  // In step, or off by under the bar: its estimates 45 ms either side of the truth in its second
  // second, 22 ms in its third, would each have been a re-sync taken as they came.
  for (const offMs of [0, 12, -15]) {
    const { errors, out } = runDrifting(offMs, 0, 12_000, vlcLike, vlcFit)
    assert.deepEqual(commands(out), [], `${offMs} ms off: commanded; errors (t:ms) ${errorsSeen(errors)}`)
  }
  // Off by more than the bar and the scatter: re-synced as soon as it is sure (45 ms off: once the
  // fit is within 15 ms), and in step after.
  for (const offMs of [-45, 50, -120]) {
    const { errors, out } = runDrifting(offMs, 0, 12_000, vlcLike, vlcFit)
    const plays = commands(out).filter(cmd => (cmd as { op: string }).op === 'play').length
    assert.ok(plays >= 1 && plays <= 2, `${offMs} ms off: ${plays} starts; errors (t:ms) ${errorsSeen(errors)}`)
    const BACK_BY_MS = 6000
    const worst = Math.max(...errors.filter(e => e.atMs >= BACK_BY_MS).map(e => Math.abs(e.errMs)))
    assert.ok(worst <= FRAME_MS, `${offMs} ms off: still ${worst.toFixed(0)} ms off after ${BACK_BY_MS} ms; errors (t:ms) ${errorsSeen(errors)}`)
  }
})

/**
 * One start that lands `missMs` off the timeline (behind: negative), its landing read before the
 * `play` or not (under load mpv may land the seek only after the `play`); the player is then read
 * every 100 ms until its start check is done. Returns the start latency learnt, and the commands.
 */
function startCheckedOnce (missMs: number, landingRead: boolean): { latencyMs: number, out: Action[] } {
  const s: PlaybackState = { media, playing: true, positionMs: 60_000, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: 'b' } }
  const c = new PlayerControl(resolveConfig({ nodeId: 'a' }), host(s, 0))
  c.attached(abilities, reading(1000, 5000, false), 1000)
  const out: Action[] = []
  c.apply(1000, out)
  const pause = commands(out)[0] as { positionMs: number }
  // Not landed: the player still shows where it was.
  c.reading(reading(1030, landingRead ? pause.positionMs : 5000, false), 1030, out)
  const playAtMs = c.nextDueMs(1030) as number
  c.runDue(playAtMs, playAtMs, out)
  for (let t = playAtMs + 50; t < playAtMs + 500; t += 100) c.reading(reading(t, (positionAt(s, 0, t) ?? 0) + missMs, true), t, out)
  return { latencyMs: c.startLatencyMs, out }
}

test('a start whose landing was not read before its play is redone when it clearly missed, but teaches no start latency', () => {
  // Exact readings, which the start check takes for lagging ones: judged ~13 ms less behind (-73 ms was seen).
  const MISS_MS = -85
  const unread = startCheckedOnce(MISS_MS, false)
  const plays = (out: Action[]): number => commands(out).filter(c => (c as { op: string }).op === 'play').length
  assert.equal(plays(unread.out), 1, 'one play, then the redo is scheduled')
  assert.ok(commands(unread.out).filter(c => (c as { op: string }).op === 'pause').length >= 2, `the start is redone: ${JSON.stringify(commands(unread.out))}`)
  assert.equal(unread.latencyMs, START_LATENCY_MS, 'timed from the target, the miss is the seek\'s, not the latency\'s')
  // The same miss from a start whose landing was read is the player's latency: learnt.
  const read = startCheckedOnce(MISS_MS, true)
  assert.ok(read.latencyMs > START_LATENCY_MS + 20, `a landed start's miss teaches the latency: ${read.latencyMs.toFixed(1)} ms`)
})
