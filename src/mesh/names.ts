/**
 * Text chosen by peers (display names, file names, chat) is printed on our terminal and put on
 * our video: it goes through the one text sanitizer (src/text/sanitize.ts); names are bounded to
 * a label's length and the wire's byte bound.
 */
import { sanitizeText } from '../text/sanitize.js'
import { MAX_NAME_BYTES } from './wire.js'

/** Characters shown at most; a name is a label in a status line. */
export const MAX_NAME_CHARS = 32

export function sanitizeName (raw: string, fallback: string): string {
  return sanitizeText(raw, { maxChars: MAX_NAME_CHARS, maxBytes: MAX_NAME_BYTES, fallback })
}

/** A short, stable handle for a peer's id (its public key, hex) where no display name is known. */
export function shortId (id: string): string {
  return id.slice(0, 8)
}
