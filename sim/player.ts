/**
 * A simulated media player: a true, continuous media clock, and the imperfect view the daemon
 * gets of it (frame steps, stale positions, noisy timestamps, late notice of user actions).
 *
 * Frames, as measured on mpv 0.35 + mpv-mpris with null outputs: a paused player rests on a
 * frame (a pause stops on the frame shown; a seek while paused lands on the first frame at or
 * after the target, or on the one just before when the target is within a few ms of it), and on
 * `play` it shows the next frame at once, so playback resumes one frame ahead of the paused
 * frame. Relative to the seek target that is 40-80 ms ahead at 25 fps (the "-50..-65 ms start
 * latency" first measured); relative to the frame it landed on it is 40 ms, to within ~2 ms.
 *
 * Rate, as measured on the same mpv (default scaletempo filter): each change of the speed while
 * playing moves the position ahead by 2.6-4.1 ms (changes of 1 % or more; 9-15 ms for changes of
 * 0.1 % or less, which the engine does not make), and the old speed goes on for ~0.3 s after the
 * new one reads back (its position, raw time-pos every ~10 ms: 76 ms behind after 1 -> 1.25x, 150
 * ms after 1 -> 1.5x, 87 ms ahead after 1.25 -> 1x, 140 ms after 1.5 -> 1x). A second change while
 * the first still takes effect is modelled (not measured) as queued behind it: each speed runs its
 * turn and the clock never jumps for it but by a change's own 2.6-4.1 ms.
 */
import type { Media, PlayerAbilities, PlayerCommand, PlayerObservation } from '../src/sync/types.js'
import type { Rng } from './rng.js'
import type { SimClock } from './clock.js'

export interface PlayerModel {
  /** Position is reported in steps of one frame (mpv: 40 ms at 25 fps); null: continuous. */
  frameMs: number | null
  /** Position is refreshed only this often (VLC: ~500 ms); 0: always fresh. */
  staleMs: number
  /** Latency of pause/play/rate commands, ms (uniform range). */
  commandMs: [number, number]
  /** Latency of a seek while paused / while playing (mpv: 2-4 / 20-30 ms). */
  seekPausedMs: [number, number]
  seekPlayingMs: [number, number]
  /**
   * After `play` takes effect, the clock starts this much later. Negative: the position jumps
   * this much ahead as playback resumes (mpv shows the next frame at once: one frame, -40 ms).
   */
  startLatencyMs: number
  /**
   * Some plays take effect late (a loaded machine): with this probability, the clock starts this
   * much later again (uniform range, ms). Real mpv beside a busy core: a follower's start on a
   * speed change landed 60 ms (media) behind the timeline, the next ones in step. Not learnable:
   * the latency learnt from such a start misses the next, punctual, one by as much.
   */
  lateStarts?: { share: number, ms: [number, number] }
  canRate: boolean
  /** Each rate change while playing moves the position ahead this much (uniform range, ms). */
  rateJumpMs: [number, number]
  /** After a rate change while playing, the old rate goes on this long (ms; it reads back at once). */
  rateTakesEffectMs: number
  /**
   * False: user seeks are noticed only at the next poll (no Seeked signal). True: the player also
   * says when a seek of ours landed, and the daemon reads it then.
   */
  sendsSeeked: boolean
  /**
   * Mid-seek the player reports the seek's target, not the frame it shows (mpv's time-pos between
   * a seek and its playback-restart).
   */
  targetWhileSeeking: boolean
  /** How late the daemon learns of a play/pause/rate the user made (PropertiesChanged batching). */
  noticeMs: [number, number]
  /** The daemon polls the position this often while playing (uniform range). */
  pollMs: [number, number]
  /** Error of a reading's timestamp after the D-Bus round-trip correction, ± ms. */
  readNoiseMs: number
}

export const MPV: PlayerModel = {
  frameMs: 40,
  staleMs: 0,
  commandMs: [0.3, 3],
  seekPausedMs: [2, 4],
  seekPlayingMs: [20, 30],
  startLatencyMs: -40,
  canRate: true,
  rateJumpMs: [2.6, 4.1],
  rateTakesEffectMs: 300,
  sendsSeeked: true,
  targetWhileSeeking: true,
  noticeMs: [1, 101],
  // The daemon polls every 100 ms while playing; libuv timers and D-Bus round trips vary it.
  pollMs: [90, 110],
  readNoiseMs: 1.5
}

/**
 * Browsers' start latency, not measured: a media element's clock starts when its audio output
 * starts after `play`, tens of ms on a desktop sound server; modelled small and positive (the
 * player runs this much after `play`), unlike mpv, which jumps a frame ahead.
 */
export const BROWSER_START_LATENCY_MS = 20

/**
 * Chromium, as the fake player of the test suite reproduces what was measured: Position exact (no
 * frame steps, no staleness), Rate fixed at 1 (Set ignored), Seeked on every change (the player
 * layer takes a consistent one for no seek: a user's seek is still seen at once), PropertiesChanged
 * without mpv's ~100 ms batching. Seeks land where asked. Command and seek latencies are mpv's
 * (not measured for browsers).
 */
export const CHROMIUM: PlayerModel = {
  ...MPV,
  frameMs: null,
  startLatencyMs: BROWSER_START_LATENCY_MS,
  canRate: false,
  rateJumpMs: [0, 0],
  noticeMs: [1, 5]
}

/**
 * A paused seek this close after a frame lands on that frame rather than the next one (measured:
 * 3.7 ms past a frame landed on it, 7.2 ms past went on to the next).
 */
export const SEEK_FRAME_SLACK_MS = 4

export class SimPlayer {
  playing = false
  rate = 1
  private anchorPosMs: number
  private anchorTrueMs = 0
  /**
   * The rates the clock runs at from the anchor on, in order, each from its true time (the first
   * from the anchor): a change asked for while playing joins the end, from when it takes effect.
   * Before a change takes effect the rate asked for before it goes on, also when a second change
   * comes meanwhile (the old speed plays out what was queued at it): the clock never jumps for it.
   */
  private rates: Array<{ fromMs: number, rate: number }> = [{ fromMs: 0, rate: 1 }]
  /** The clock starts only at this true time after a `play` (start latency). */
  private runFromMs = 0
  /** A seek of ours under way: where to, and when it lands (true time). */
  private seeking: { targetMs: number, landsAtMs: number } | null = null
  private readonly stalePhaseMs: number

  constructor (
    readonly model: PlayerModel,
    readonly media: Media,
    private clock: SimClock,
    private readonly rng: Rng,
    startPosMs = 0
  ) {
    this.anchorPosMs = startPosMs
    this.stalePhaseMs = rng.uniform(0, Math.max(1, model.staleMs))
  }

  /** The machine's process restarted: readings are stamped on its new clock. */
  useClock (clock: SimClock): void {
    this.clock = clock
  }

  abilities (): PlayerAbilities {
    return { canSeek: true, canPause: true, rateMin: this.model.canRate ? 0.25 : 1, rateMax: this.model.canRate ? 4 : 1, rateTakesEffectMs: this.model.canRate ? this.model.rateTakesEffectMs : 0 }
  }

  /** True media position at true time t. The media clock runs on the machine's (drifting) clock. */
  position (tMs: number): number {
    if (!this.playing || tMs <= this.runFromMs) return this.anchorPosMs
    const drift = 1 + this.clock.driftPpm / 1e6
    const from = Math.max(this.anchorTrueMs, this.runFromMs)
    const first = this.rates[0]?.rate ?? this.rate
    // Before the anchor (a stale reading): back along the rate it ran at then.
    if (tMs < from) return this.anchorPosMs - (from - tMs) * first * drift
    let positionMs = this.anchorPosMs
    for (let i = 0; i < this.rates.length; i++) {
      const seg = this.rates[i] as { fromMs: number, rate: number }
      const segFrom = Math.max(from, seg.fromMs)
      const segTo = Math.min(tMs, this.rates[i + 1]?.fromMs ?? Infinity)
      if (segTo > segFrom) positionMs += (segTo - segFrom) * seg.rate * drift
    }
    return positionMs
  }

  /** What the screen shows: a paused player shows a whole frame; a playing one is judged by its clock. */
  shownPosition (tMs: number): number {
    const pos = this.position(tMs)
    if (this.playing || this.model.frameMs === null) return pos
    return Math.floor(pos / this.model.frameMs + 1e-9) * this.model.frameMs
  }

  /** Latency before a command takes effect. */
  latencyOf (cmd: PlayerCommand): number {
    const [lo, hi] = cmd.op === 'seek' ? (this.playing ? this.model.seekPlayingMs : this.model.seekPausedMs) : this.model.commandMs
    return this.rng.uniform(lo, hi)
  }

  apply (cmd: PlayerCommand, tMs: number): void {
    switch (cmd.op) {
      case 'pause': return this.setPlaying(false, tMs)
      case 'play': return this.setPlaying(true, tMs)
      case 'seek': return this.seek(cmd.positionMs, tMs)
      case 'rate': return this.setRate(cmd.rate, tMs)
    }
  }

  setPlaying (playing: boolean, tMs: number): void {
    if (playing === this.playing) return
    this.reanchor(tMs)
    this.playing = playing
    if (!playing) {
      // It stops on the frame it shows.
      this.anchorPosMs = this.frameFloor(this.anchorPosMs)
      return
    }
    const latencyMs = this.model.startLatencyMs
    const late = this.model.lateStarts
    const lateMs = late !== undefined && this.rng.chance(late.share) ? this.rng.uniform(late.ms[0], late.ms[1]) : 0
    if (latencyMs >= 0) this.runFromMs = tMs + latencyMs + lateMs
    else {
      this.anchorPosMs += -latencyMs * this.rate
      if (lateMs > 0) this.runFromMs = tMs + lateMs
    }
  }

  /** A seek was sent at true time tMs; it lands (`seek`) at landsAtMs. */
  seekSent (positionMs: number, landsAtMs: number): void {
    this.seeking = { targetMs: Math.max(0, positionMs), landsAtMs }
  }

  seek (positionMs: number, tMs: number): void {
    this.seeking = null
    const targetMs = Math.max(0, positionMs)
    const frameMs = this.model.frameMs
    // Paused, it lands on a frame (see the top of this file); playing, it plays on from the target.
    this.anchorPosMs = this.playing || frameMs === null
      ? targetMs
      : Math.ceil((targetMs - SEEK_FRAME_SLACK_MS) / frameMs - 1e-9) * frameMs
    this.anchorTrueMs = tMs
    this.rates = [{ fromMs: tMs, rate: this.rate }]
    this.runFromMs = Math.min(this.runFromMs, tMs)
  }

  /** The clock from true time t on, a rate change still taking effect then taking effect at once. */
  private reanchor (tMs: number): void {
    this.anchorPosMs = this.position(tMs)
    this.anchorTrueMs = tMs
    this.rates = [{ fromMs: tMs, rate: this.rate }]
  }

  private frameFloor (positionMs: number): number {
    const frameMs = this.model.frameMs
    return frameMs === null ? positionMs : Math.floor(positionMs / frameMs + 1e-9) * frameMs
  }

  setRate (rate: number, tMs: number): void {
    // The rate it already has, or is changing to, changes nothing: a change still taking effect
    // goes on (not measured; re-anchoring here ended the old rate at once, so a repeated command
    // lost the player up to 0.3 s x the rate step, 100-140 ms in partial-mesh rooms).
    if (!this.model.canRate || rate === this.rate) return
    this.rate = rate
    if (!this.playing) {
      this.reanchor(tMs)
      return
    }
    // The clock goes on as planned (a change still taking effect too) and runs at the new rate
    // once it takes effect. Re-anchoring at the end of this change, with the rate before it for the
    // time till then, moved a player whose previous change was still taking effect by the time
    // left of it x the step of that change at once (60-185 ms for a nudge right after 1 -> 1.5x).
    const fromMs = Math.max(tMs, this.runFromMs)
    this.anchorPosMs = this.position(fromMs) + this.rng.uniform(...this.model.rateJumpMs)
    this.anchorTrueMs = fromMs
    const running = this.rates.filter(r => r.fromMs > fromMs)
    const atAnchor = this.rates.filter(r => r.fromMs <= fromMs).pop() ?? { fromMs, rate }
    this.rates = [{ fromMs, rate: atAnchor.rate }, ...running, { fromMs: fromMs + this.model.rateTakesEffectMs, rate }]
  }

  /** When a change made at true time t first shows in a reading (the next refresh of a stale player). */
  visibleFrom (tMs: number): number {
    if (this.model.staleMs <= 0) return tMs
    return Math.ceil((tMs - this.stalePhaseMs) / this.model.staleMs) * this.model.staleMs + this.stalePhaseMs
  }

  /** What the daemon reads at true time t, with the reading's timestamp on the local clock. */
  read (tMs: number): PlayerObservation {
    let seenAt = tMs
    if (this.model.staleMs > 0) seenAt = Math.max(0, Math.floor((tMs - this.stalePhaseMs) / this.model.staleMs) * this.model.staleMs + this.stalePhaseMs)
    if (seenAt > tMs) seenAt = tMs
    let positionMs = this.position(seenAt)
    if (this.model.frameMs !== null) positionMs = Math.floor(positionMs / this.model.frameMs) * this.model.frameMs
    const midSeek = this.seeking !== null && this.model.targetWhileSeeking && tMs < this.seeking.landsAtMs
    if (midSeek) positionMs = this.seeking?.targetMs ?? positionMs
    const observed: PlayerObservation = {
      playing: this.playing,
      positionMs,
      atMs: this.clock.local(tMs) + this.rng.uniform(-this.model.readNoiseMs, this.model.readNoiseMs),
      rate: this.rate,
      media: this.media
    }
    // The player layer knows a seek of ours is under way until the player reports its landing.
    if (midSeek && this.model.sendsSeeked) observed.seeking = true
    return observed
  }
}
