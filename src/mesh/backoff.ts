/**
 * When to look for lost peers again. Hyperswarm itself retries a dropped client connection after
 * ~1, 5 and 15 s and then waits for its 10-minute rediscovery; a peer that was down longer than
 * that (a laptop lid, a Wi-Fi change) would stay missing for minutes. We refresh the topic
 * (announce + lookup) on this schedule while a lost peer is missing, which makes both sides dial
 * again. Pure: the caller passes the randomness.
 */

/** Doubling from 1 s: quick for blips, then gentle on the DHT. */
export const RECONNECT_BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000] as const
/** ±25 % so that a room that lost one peer does not refresh in lockstep. */
export const RECONNECT_JITTER = 0.25
/** After this, hyperswarm's own 10-minute rediscovery takes over. */
export const RECONNECT_GIVE_UP_MS = 10 * 60 * 1000

/** Delay before refresh number `attempt` (0-based), with jitter from `random()` in [0, 1). */
export function reconnectDelayMs (attempt: number, random: () => number): number {
  const steps = RECONNECT_BACKOFF_MS
  const base = steps[Math.min(attempt, steps.length - 1)] ?? steps[steps.length - 1] ?? 1000
  return Math.round(base * (1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * random()))
}

/**
 * Our periodic timer, due every `intervalMs`, last ran at `lastMs` and runs again at `nowMs`: were
 * we suspended (SIGSTOP, a laptop lid) for longer than the peers' dead-peer timeout? Then they
 * have dropped us, and waiting for our own timeouts and the first backoff step only delays the way
 * back: the topic is refreshed at once (a daemon frozen 18 s took ~3 s to be back in its room).
 */
export function wokeFromSuspend (lastMs: number, nowMs: number, intervalMs: number, deadPeerMs: number): boolean {
  return nowMs - lastMs > intervalMs + deadPeerMs
}
