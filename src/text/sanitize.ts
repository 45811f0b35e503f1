/**
 * The one sanitizer for text that came from another machine (display names, media names, chat,
 * anything a peer chose) before it reaches any output: a terminal, a desktop notification, text on
 * the video. Everything that could move the cursor, retitle a window, clear the screen, forge a
 * line, reorder text or hide characters is removed, whitespace is folded to single spaces, and the
 * result is bounded in characters and in UTF-8 bytes.
 *
 * Order matters: whole escape sequences go first (ESC [ 3 1 m must vanish, not leave "[31m"
 * behind), then every control, format (bidi overrides, zero-width), private-use, surrogate and
 * line/paragraph separator character that is left.
 */

/** Characters kept at most, unless the caller asks for fewer: one line of a status display. */
export const MAX_TEXT_CHARS = 200

/** CSI (ESC [ or the C1 CSI 0x9b), with its parameter and intermediate bytes and its final byte. */
const CSI = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?/gu
/** OSC, DCS, SOS, PM, APC strings (ESC ] ... or their C1 forms), up to BEL or ST, or to the end. */
const STRING_SEQUENCE = /(?:\u001b[\]P^_X]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?/gu
/** Any other escape: ESC and the one character after it (ESC c resets a terminal). */
const OTHER_ESCAPE = /\u001b[\u0020-\u007e]?/gu
/** Line breaks and tabs separate words: they become spaces rather than gluing words together. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/gu
/** Control (C0, DEL, C1), format (incl. bidi overrides, zero-width), private use, surrogates, separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu

export interface SanitizeOptions {
  /** Characters (code points) kept at most; default MAX_TEXT_CHARS. */
  maxChars?: number
  /** UTF-8 bytes kept at most (a wire bound); default: no byte bound beyond maxChars. */
  maxBytes?: number
  /** Returned when nothing printable is left. Default: the empty string. */
  fallback?: string
  /** A cut text ends with '…' (within maxChars), so a reader sees it was cut. Default: false. */
  ellipsis?: boolean
}

export function sanitizeText (raw: string, opts: SanitizeOptions = {}): string {
  const maxChars = opts.maxChars ?? MAX_TEXT_CHARS
  const cleaned = String(raw)
    .replace(STRING_SEQUENCE, '')
    .replace(CSI, '')
    .replace(OTHER_ESCAPE, '')
    .replace(BREAKS, ' ')
    .replace(UNSAFE, '')
    .replace(/\s+/gu, ' ')
    .trim()
  const all = Array.from(cleaned)
  const chars = opts.ellipsis === true && all.length > maxChars ? [...all.slice(0, maxChars - 1), '…'] : all.slice(0, maxChars)
  if (opts.maxBytes !== undefined) {
    const encoder = new TextEncoder()
    while (chars.length > 0 && encoder.encode(chars.join('')).byteLength > opts.maxBytes) chars.pop()
  }
  const text = chars.join('').trim()
  return text.length > 0 ? text : (opts.fallback ?? '')
}
