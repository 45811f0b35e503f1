/**
 * What is known, per player, of how its reported position relates to the picture it shows. The
 * daemon cannot see the picture, so these are measured outside it (a player read frame by frame,
 * see docs/facts.md) and stated here as constants for that player; everything else is learnt at
 * runtime. A player not listed reports what it shows (mpv: the current frame's time).
 */
import type { ValueQuirks } from './position.js'

/**
 * VLC 3.0.x, headless, read frame by frame against its MPRIS Position (test/fixtures/vlc.ts): at
 * each refresh its value leads the picture by 15-34 ms (median 23 ms over 17 edges, ~22 ms from
 * the edge fit), and a SetPosition while playing is reported at once, ~80 ms before the picture
 * gets there: ~58 ms ahead of the value's own lead. The seek lead is then learnt from its edges.
 */
export const VLC_QUIRKS: ValueQuirks = { valueLeadMs: 22, seekLeadMs: 58 }
const NONE: ValueQuirks = { valueLeadMs: 0, seekLeadMs: 0 }

/** VLC claims org.mpris.MediaPlayer2.vlc, or .vlc.instanceN when several run. */
const VLC_BUS_NAME = /^org\.mpris\.MediaPlayer2\.vlc(\.|$)/

export function quirksFor (busName: string): ValueQuirks {
  return VLC_BUS_NAME.test(busName) ? VLC_QUIRKS : NONE
}
