/**
 * Text chosen by peers (display names, chat) is printed on our terminal: strip anything that could
 * move the cursor, reorder text or hide characters, and bound the length. One sanitizer for all of it.
 */
import { MAX_NAME_BYTES } from './wire.js'

/** Characters shown at most; a name is a label in a status line. */
export const MAX_NAME_CHARS = 32
/** Characters kept at most, unless the caller asks for fewer: one line of a status display. */
export const MAX_TEXT_CHARS = 200

/** Whole escape sequences (CSI, OSC/DCS strings, two-character escapes): nothing of them may remain. */
const ESCAPES = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?|(?:\u001b[\]P^_X]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u007e]?/gu
/** Line breaks and tabs separate words: they become spaces rather than gluing words together. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/gu
/** Control, format (incl. bidi overrides, zero-width), private-use, surrogate and line/paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu

export interface SanitizeOptions {
  /** Characters (code points) kept at most; default MAX_TEXT_CHARS. */
  maxChars?: number
  /** UTF-8 bytes kept at most (a wire bound); default: no byte bound beyond maxChars. */
  maxBytes?: number
  /** Returned when nothing printable is left. Default: the empty string. */
  fallback?: string
}

export function sanitizeText (raw: string, opts: SanitizeOptions = {}): string {
  const cleaned = String(raw).replace(ESCAPES, '').replace(BREAKS, ' ').replace(UNSAFE, '').replace(/\s+/gu, ' ').trim()
  const chars = Array.from(cleaned).slice(0, opts.maxChars ?? MAX_TEXT_CHARS)
  if (opts.maxBytes !== undefined) {
    const encoder = new TextEncoder()
    while (chars.length > 0 && encoder.encode(chars.join('')).byteLength > opts.maxBytes) chars.pop()
  }
  const text = chars.join('').trim()
  return text.length > 0 ? text : (opts.fallback ?? '')
}

export function sanitizeName (raw: string, fallback: string): string {
  return sanitizeText(raw, { maxChars: MAX_NAME_CHARS, maxBytes: MAX_NAME_BYTES, fallback })
}

export function shortId (id: string): string {
  return id.slice(0, 8)
}
