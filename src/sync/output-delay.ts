/**
 * Output delay: a viewer whose sound reaches their ears late (Bluetooth headphones 100-300 ms, a
 * TV's processing) hears the room late by that much. Their player therefore runs that far ahead of
 * the shared timeline while playing, so that what each person hears is in step. Paused, every
 * player rests on the same frame: there is nothing to hear.
 *
 * The mapping between the room's timeline and this player's position, in both directions. Pure.
 */

/** Beyond any real output path (Bluetooth stacks reach ~500 ms); a bigger value is a typo. */
export const MAX_OUTPUT_DELAY_MS = 5000

/** Media ms this player is ahead of the timeline while playing at `rate`. */
export function aheadMs (outputDelayMs: number, playing: boolean, rate: number): number {
  return playing ? outputDelayMs * rate : 0
}

/** Local time at which this player must show what the room shows at local time `roomAtMs`. */
export function playerTimeMs (roomAtMs: number, outputDelayMs: number): number {
  return roomAtMs - outputDelayMs
}

/** The room's timeline position for a reading of this player (`playing` at `rate`). */
export function roomPositionMs (playerPositionMs: number, outputDelayMs: number, playing: boolean, rate: number): number {
  return playerPositionMs - aheadMs(outputDelayMs, playing, rate)
}

export function checkOutputDelay (outputDelayMs: number): number {
  if (!Number.isFinite(outputDelayMs) || outputDelayMs < 0 || outputDelayMs > MAX_OUTPUT_DELAY_MS) {
    throw new RangeError(`output delay must be 0..${MAX_OUTPUT_DELAY_MS} ms, got ${outputDelayMs}`)
  }
  return outputDelayMs
}
