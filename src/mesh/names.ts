/**
 * Text chosen by peers (display names, file names, chat) is printed on our terminal and put on our video:
 * strip anything that could move the cursor, reorder text or hide characters, and bound the length.
 */
import { MAX_NAME_BYTES } from './wire.js'

/** Characters shown at most; a name is a label in a status line. */
export const MAX_NAME_CHARS = 32

/**
 * Whole escape sequences (CSI, OSC/DCS strings, two-character escapes) go first: removing only the
 * ESC of `ESC [ 2 J` would leave `[2J` behind.
 */
const ESCAPES = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?|(?:\u001b[\]P^_X]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u007e]?/gu
/** Control, format (incl. bidi overrides, zero-width), private-use, surrogate and line/paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu

/** Any peer-supplied text made safe to show: one line, no unsafe characters, at most `maxChars` characters. */
export function sanitizeText (raw: string, maxChars: number): string {
  // Line breaks and tabs become spaces (two words stay two words), then the rest unsafe goes.
  const cleaned = raw.replace(ESCAPES, '').replace(/\s+/gu, ' ').replace(UNSAFE, '').replace(/ +/g, ' ').trim()
  const chars = Array.from(cleaned)
  return chars.length <= maxChars ? cleaned : chars.slice(0, maxChars - 1).join('') + '…'
}

export function sanitizeName (raw: string, fallback: string): string {
  const chars = Array.from(sanitizeText(raw, Infinity)).slice(0, MAX_NAME_CHARS)
  while (new TextEncoder().encode(chars.join('')).byteLength > MAX_NAME_BYTES) chars.pop()
  const name = chars.join('')
  return name.length > 0 ? name : fallback
}

/** A short, stable handle for a peer's id (its public key, hex) where no display name is known. */
export function shortId (id: string): string {
  return id.slice(0, 8)
}
