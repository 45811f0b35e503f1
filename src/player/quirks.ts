/**
 * What is known, per player, of how its reported position relates to the picture it shows, and of
 * how late a speed change takes effect. The daemon cannot see the picture, so these are measured
 * outside it (a player read frame by frame, see docs/facts.md) and stated here as constants for
 * that player; everything else is learnt at runtime. A player not listed reports what it shows
 * (mpv: the current frame's time) and changes speed at once.
 */
import type { ValueQuirks } from './position.js'

/**
 * VLC 3.0.x, headless, read frame by frame against its MPRIS Position (test/fixtures/vlc.ts): at
 * each refresh its value leads the picture by 15-34 ms (median 23 ms over 17 edges, ~22 ms from
 * the edge fit), and a SetPosition while playing is reported at once, ~80 ms before the picture
 * gets there: ~58 ms ahead of the value's own lead. The seek lead is then learnt from its edges.
 * Its Seeked carries the same stale value as its Position (e2e traces: the frame it paused on
 * 640 ms after our Play; 1918 ms where a start that came 500 ms late put the estimate at 2281; the
 * keyframe 522 ms before a seek's target).
 * Its first refreshes after an action lead the picture by more than that (bench:vlc against its
 * picture, 12-03): after a play the first edge moved the estimate 27-58 ms ahead of it, and
 * 1.4-2.3 s after a play, a seek or a resume the estimate led it by a median 20-27 ms. Fitted, the
 * first edge moved a VLC that had landed right off by ~60 ms. Edges in the first second of a line
 * are left out (edgeSettleMs). bench:vlc, alternating batches, over a frame 3 s after the action,
 * without -> with: 12 runs a side beside a soak, seeks in VLC 6/12 -> 0/12, resumes 7/12 -> 1/12;
 * 8 runs a side on a quiet machine, seeks 0/8 -> 2/8, resumes 2/8 -> 0/8; plays VLC follows
 * 10/20 -> 11/20 (not this). All actions within a frame: 54/80 -> 66/80.
 */
export const VLC_QUIRKS: ValueQuirks = { valueLeadMs: 22, seekLeadMs: 58, seekedIsValue: true, edgeSettleMs: 1000 }
const NONE: ValueQuirks = { valueLeadMs: 0, seekLeadMs: 0 }

/**
 * What the sync engine should start from for a player before anything is learnt of it (a fresh
 * config folder): some of the values it learns (the keys of its learnt record, sync/learnt.ts),
 * in ms. A value left out keeps the engine's own first guess, which is mpv's.
 */
export interface PlayerPriors {
  /** `play` -> running latency. */
  startLatencyMs?: number
  /** How far a reading typically lags the truth. */
  readingLagMs?: number
  /** How far the first reading after a jump lags. */
  freshReadingLagMs?: number
  /** How far the envelope of the first few readings after a jump falls short of the mature one. */
  roughShortMs?: number
  /** Where its viewer's own resume really landed against its first reading and fresh-reading lag (see LearntPlayer). */
  resumeShiftMs?: number
}

/**
 * VLC 3.0.x as the sync engine sees it through the player layer (its estimate fitted from the
 * step edges), from engine traces of bench:vlc rooms on a loaded 2-core host, replayed: it runs
 * 40-100 ms after `play` (+40 at load ~6-19, +100 at ~17; first starts 94-120 ms behind mpv's
 * guess in earlier runs), where mpv runs a frame *ahead* (-40 ms, the engine's first guess). On
 * that guess a fresh VLC's first start landed 64-120 ms behind; beyond 100 ms a start check takes
 * that for a failed seek and redoes it without learning, so it was restarted 3-5 times. Its
 * readings lag 5-37 ms (~15), the first after a jump 20-28 ms, the envelope of the first few
 * falls 13-21 ms short of the mature one. Read through its sure fits instead (12-04: the envelope of
 * its scattered estimates had been ahead by as much as they scatter), its starts at 60 ms landed
 * -15..+47 ms ahead of the room (16 starts in 2 bench:vlc rooms, mean +26): the start latency
 * starts at 34 ms. It is hardly ever learnt in a room: a start's seek is not seen land within the
 * 60 ms lead, and such a start teaches nothing. After its viewer's own resume, its sure fit put it
 * 25-36 ms behind where the resume was published from (5 bench:vlc runs, p50 -28 ms): the first
 * reading after a resume is its exact paused value, which lags nothing.
 */
export const VLC_PRIORS: Readonly<PlayerPriors> = { startLatencyMs: 34, readingLagMs: 15, freshReadingLagMs: 25, roughShortMs: 16, resumeShiftMs: -28 }

/**
 * mpv goes on at the old speed for this long after a speed change reads back (raw time-pos every
 * ~10 ms while playing: 280-350 ms, whether the change was ours or its user's). Measured only on
 * mpv; another player's rate is taken to change at once.
 */
export const MPV_RATE_TAKES_EFFECT_MS = 300

/** VLC claims org.mpris.MediaPlayer2.vlc, or .vlc.instanceN when several run. */
const VLC_BUS_NAME = /^org\.mpris\.MediaPlayer2\.vlc(\.|$)/
/** mpv-mpris names itself org.mpris.MediaPlayer2.mpv (or .mpv.instanceN when several run). */
const MPV_BUS_NAME = /^org\.mpris\.MediaPlayer2\.mpv(\.|$)/

export function quirksFor (busName: string): ValueQuirks {
  return VLC_BUS_NAME.test(busName) ? VLC_QUIRKS : NONE
}

/** The engine's first guesses for the player behind this MPRIS bus name (none: mpv's, the engine's own). */
export function priorsFor (busName: string): Readonly<PlayerPriors> {
  return VLC_BUS_NAME.test(busName) ? VLC_PRIORS : {}
}

/** How long the player behind this MPRIS bus name keeps its old speed after a change, ms. */
export function rateTakesEffectMsFor (busName: string): number {
  return MPV_BUS_NAME.test(busName) ? MPV_RATE_TAKES_EFFECT_MS : 0
}

/**
 * VLC 3.0.x does not move along its media by what a short rate change says (`npm run bench:vlc-rate`,
 * headless, its picture read frame by frame, 12-04; each rate held 500 ms, 5 runs): 0.96, meant to
 * move it 20 ms back, left it where it was or a whole frame (41 ms) back, after a jerk of 45-76 ms;
 * 1.04 left it where it was or 39 ms ahead, after going 49-72 ms ahead; 0.8, meant to move it 100 ms
 * back, left it where it was (5 of 5) after going 245-355 ms behind. With and without an audio track
 * alike. A speed it keeps is followed: 1.25 for 6 s moved it 1.4-1.6 s. In rooms (bench:vlc with
 * engine traces) the engine's moves after VLC followed a play left its picture 25-120 ms behind in 5
 * of 6 runs, where it had started within 22 ms of the room's line. Never nudged, and re-synced once
 * 30 ms off (config.ts SEEK_CORRECTION_UNNUDGEABLE_MS; bench:vlc, alternating batches, 20 runs a side,
 * 12-04): plays VLC follows over a frame 3 s after 9/20 -> 2/20, seeks and resumes in VLC 3/20 each
 * either way, all actions within a frame 65/80 -> 72/80.
 */
export function nudgeableFor (busName: string): boolean {
  return !VLC_BUS_NAME.test(busName)
}

/**
 * Whether the player behind this bus name is known to signal every change a paused player can
 * make: mpv-mpris sends PlaybackStatus in PropertiesChanged (batched, within ~100 ms) and Seeked
 * for every seek, its user's, ours and a loop's wrap-around. Another player shows it first (a play
 * signalled, a Seeked seen) before it is trusted to.
 */
export function signalsPlayAndSeekFor (busName: string): boolean {
  return MPV_BUS_NAME.test(busName)
}
