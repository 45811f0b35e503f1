/** Human-facing formatting shared by the daemon's log lines and the CLI. */

/** `4337000` → `01:12:17`; negative positions (never expected) are clamped to zero. */
export function formatTimecode (positionMs: number): string {
  const totalS = Math.max(0, Math.floor(positionMs / 1000))
  const h = Math.floor(totalS / 3600)
  const m = Math.floor((totalS % 3600) / 60)
  const s = totalS % 60
  return [h, m, s].map(n => String(n).padStart(2, '0')).join(':')
}

export function formatMs (ms: number | null, digits = 1): string {
  return ms === null || !Number.isFinite(ms) ? '-' : `${ms.toFixed(digits)} ms`
}
