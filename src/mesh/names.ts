/**
 * Display names are chosen by peers and printed on our terminal: strip anything that could move
 * the cursor, reorder text or hide characters, and bound the length.
 */
import { MAX_NAME_BYTES } from './wire.js'

/** Characters shown at most; a name is a label in a status line. */
export const MAX_NAME_CHARS = 32

/** Control, format (incl. bidi overrides, zero-width), private-use, surrogate and line/paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu

export function sanitizeName (raw: string, fallback: string): string {
  const cleaned = raw.replace(UNSAFE, '').replace(/\s+/gu, ' ').trim()
  const chars = Array.from(cleaned).slice(0, MAX_NAME_CHARS)
  while (new TextEncoder().encode(chars.join('')).byteLength > MAX_NAME_BYTES) chars.pop()
  const name = chars.join('')
  return name.length > 0 ? name : fallback
}

/** A short, stable handle for a peer's id (its public key, hex) where no display name is known. */
export function shortId (id: string): string {
  return id.slice(0, 8)
}
