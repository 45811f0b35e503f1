/**
 * The mesh's default bounds. Each says why it has the value it has; a `SwarmMesh` can override any
 * of them (tests shorten the timings).
 */
import type { MeshLimits } from './types.js'

export const DEFAULT_LIMITS: Readonly<MeshLimits> = {
  /** The design's scale target is 32 viewers in one room: 31 others, with one spare. */
  maxPeers: 32,
  /** Sync messages are a few hundred bytes; the largest (offsets to 32 peers) is ~2 KiB. */
  maxPayloadBytes: 16 * 1024,
  /**
   * Honest steady traffic per peer is 1 ping, ~2 sync messages and, in a partial mesh, a
   * relayed copy of each broadcast per second; 200/s is two orders of magnitude above that.
   */
  maxFramesPerSec: 200,
  /** Mesh formation and a burst of user actions come in spikes; allow 2 s worth at once. */
  frameBurst: 400,
  /** Relays go to every other direct peer in a room of maxPeers; never more. */
  maxRelayFanout: 32,
  /**
   * Broadcasts one author may have delivered and relayed per second, whoever brings them. An
   * honest author sends ~1 announce and a few throttled events a second; a scrubbing user a burst.
   * Beyond it, its broadcasts are dropped here (not relayed): one member cannot make the room
   * carry a flood, and an honest neighbour that relayed it is never blamed.
   */
  maxBroadcastsPerAuthorPerSec: 20,
  /** A burst of user actions (mashing play/pause, scrubbing) fits in 3 s worth. */
  authorBurst: 60,
  /** 1 s pings keep the clock estimate fresh and let a 3 s deadline see three missed in a row. */
  pingIntervalMs: 1000,
  /** docs/facts.md: 1 s pings + a 3 s stream timeout noticed a kill -9 in 2.96 s (UDX default ~15 s). */
  deadPeerMs: 3000,
  /** The proof and hello cost one round trip on an open connection; 5 s tolerates a loaded host. */
  admissionTimeoutMs: 5000,
  /**
   * The peer's proof is its first frame, sent as soon as its connection opens: one one-way delay.
   * 2 s covers a slow link on a loaded host, and frees a stranger's silent slot well before the
   * whole admission deadline.
   */
  proofTimeoutMs: 2000
}

export function resolveLimits (overrides: Partial<MeshLimits> | undefined): MeshLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`mesh limit ${name} must be a positive number, got ${value}`)
  }
  return limits
}
