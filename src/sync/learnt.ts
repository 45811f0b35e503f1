/**
 * What the engine learns about the local player (how late it starts, how much a rate change makes
 * it jump, how far its readings lag, how soon a start's seek is read back), as one record: handed
 * out so that the daemon can remember it per kind of player, and taken back as the starting point
 * when such a player attaches again (a restarted daemon, a new player of the same kind). Pure:
 * bounds and clamping only.
 */
import { MAX_OWN_SHIFT_MS, MAX_RATE_JUMP_MS, MAX_START_LATENCY_MS, MIN_SEEK_LEAD_MS, MIN_START_LATENCY_MS, SEEK_LEAD_MS } from './config.js'
import { MAX_READING_LAG_MS } from './player-track.js'
import type { LearntPlayer } from './types.js'

export type { LearntPlayer }

/** Each value's sane range: the same bounds the learning itself keeps to. */
export const LEARNT_BOUNDS: Readonly<Record<keyof LearntPlayer, readonly [number, number]>> = {
  startLatencyMs: [MIN_START_LATENCY_MS, MAX_START_LATENCY_MS],
  rateJumpMs: [-MAX_RATE_JUMP_MS, MAX_RATE_JUMP_MS],
  readingLagMs: [0, MAX_READING_LAG_MS],
  freshReadingLagMs: [0, MAX_READING_LAG_MS],
  roughShortMs: [0, MAX_READING_LAG_MS],
  seekLeadMs: [MIN_SEEK_LEAD_MS, SEEK_LEAD_MS],
  resumeShiftMs: [-MAX_OWN_SHIFT_MS, MAX_OWN_SHIFT_MS],
  seekShiftMs: [-MAX_OWN_SHIFT_MS, MAX_OWN_SHIFT_MS]
}

export const LEARNT_KEYS = Object.keys(LEARNT_BOUNDS) as Array<keyof LearntPlayer>

/**
 * Values added to the record after records were first kept: a record from before lacks them and
 * takes these, the engine's first guesses (the rest of such a record still holds). A missing value
 * of any other key is damage.
 */
export const LEARNT_ADDED_LATER: Readonly<Partial<LearntPlayer>> = { seekLeadMs: SEEK_LEAD_MS, resumeShiftMs: 0, seekShiftMs: 0 }

/**
 * A record from outside (a file): every value a finite number, clamped into its range; null when
 * a value is missing (and not one added later) or not a number (the whole record is then not to be
 * trusted).
 */
export function toLearnt (raw: unknown): LearntPlayer | null {
  if (typeof raw !== 'object' || raw === null) return null
  const out: Partial<LearntPlayer> = {}
  for (const key of LEARNT_KEYS) {
    const given = (raw as Record<string, unknown>)[key]
    const v = given === undefined ? LEARNT_ADDED_LATER[key] : given
    if (typeof v !== 'number' || !Number.isFinite(v)) return null
    const [lo, hi] = LEARNT_BOUNDS[key]
    out[key] = Math.min(hi, Math.max(lo, v))
  }
  return out as LearntPlayer
}
