/**
 * Chat lines: what may be said, how often, and what is shown of what others say. Pure (the caller
 * passes the time); the daemon sends and shows.
 *
 * A line travels as a broadcast, so it is signed by its author's key and relayed like a control
 * event: a relay can neither forge nor alter it. What arrives is cleaned by the one text sanitizer
 * and bounded, and each author is held to a rate: a member cannot flood the others' terminals.
 */
import { sanitizeText } from '../text/sanitize.js'
import { TokenBucket } from '../mesh/rate-limit.js'
import { WatchmeshError } from '../errors.js'

/**
 * A chat line is a remark over a film, not a letter: one line of a terminal or of the video.
 * 200 characters of up to 4 bytes fit the wire's MAX_CHAT_BYTES.
 */
export const MAX_CHAT_CHARS = 200
/** Sustained lines per second one person may send: a line every 2 s is brisk typing... */
export const CHAT_LINES_PER_SEC = 0.5
/** ...with a few at once (a quick exchange) above it. */
export const CHAT_BURST = 5
/**
 * Received lines get a little more than what an honest sender allows itself, so that delivery
 * jitter never drops an honest line.
 */
const CHAT_RECEIVE_SLACK = 2
/** Authors whose rate we track at most; a room is far smaller (the mesh admits 32). */
const MAX_CHAT_AUTHORS = 256

/** The text as it may be sent and shown: one clean line, bounded. Empty when nothing is left. */
export function cleanChat (raw: string): string {
  return sanitizeText(raw, { maxChars: MAX_CHAT_CHARS, ellipsis: true })
}

export class ChatRate {
  private readonly sending = new TokenBucket(CHAT_LINES_PER_SEC, CHAT_BURST)
  private readonly receiving = new Map<string, TokenBucket>()

  /** The line to send, cleaned; throws BAD_USAGE (nothing to say) or RATE_LIMITED. */
  outgoing (raw: string, nowMs: number): string {
    if (Array.from(raw.trim()).length > MAX_CHAT_CHARS) throw WatchmeshError.badUsage(`too long: a message has at most ${MAX_CHAT_CHARS} characters`)
    const text = cleanChat(raw)
    if (text.length === 0) throw WatchmeshError.badUsage('nothing to say: the message is empty once cleaned')
    if (!this.sending.take(nowMs)) {
      throw new WatchmeshError('RATE_LIMITED', `slow down: at most ${CHAT_BURST} messages at once, then one every ${Math.round(1 / CHAT_LINES_PER_SEC)} s`)
    }
    return text
  }

  /** The line to show from `author`, cleaned; null when it is empty or over the author's rate. */
  incoming (author: string, raw: string, nowMs: number): string | null {
    let bucket = this.receiving.get(author)
    if (bucket === undefined) {
      bucket = new TokenBucket(CHAT_LINES_PER_SEC, CHAT_BURST + CHAT_RECEIVE_SLACK)
      this.receiving.set(author, bucket)
      if (this.receiving.size > MAX_CHAT_AUTHORS) {
        const oldest = this.receiving.keys().next()
        if (oldest.done !== true) this.receiving.delete(oldest.value)
      }
    }
    if (!bucket.take(nowMs)) return null
    const text = cleanChat(raw)
    return text.length > 0 ? text : null
  }
}
