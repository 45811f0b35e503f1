/**
 * Terminal output of the daemon. Three kinds of line:
 * - `event`: something happened in the room (a join, "alice paused at 00:42:17"); shown unless --quiet.
 * - `warn` / `error`: always shown.
 * - `debug`: only with --verbose.
 * `debugOut`, when given, gets every line at the debug level (fields included) whatever the
 * verbosity: the terminal stays as quiet as asked while a file keeps what a post-mortem needs.
 * With `json`, every line is one JSON object (`{ time, level, msg, ...fields }`) for machines.
 * Lines carry text from peers (names, media names, reasons): every message and field goes through
 * the text sanitizer here too, so no caller's slip can put an escape sequence on the terminal.
 */

/** A log line is one line; long enough for any message we compose around a bounded peer string. */
const MAX_LINE_CHARS = 1000
import type { Writable } from 'node:stream'
import { sanitizeText } from '../text/sanitize.js'

export type Verbosity = 'quiet' | 'normal' | 'verbose'
export type Level = 'debug' | 'event' | 'warn' | 'error'
export type Fields = Record<string, string | number | boolean | null | undefined>

export interface LoggerOptions {
  verbosity?: Verbosity
  json?: boolean
  out?: Writable
  /** Put before every human-readable line (the demo tells its viewers apart with it). */
  prefix?: string
  /** Wall-clock time for the line prefix only (never used for sync). */
  clock?: () => Date
  /** Every line at the debug level, human-readable with its fields, besides `out`. */
  debugOut?: (line: string) => void
}

export class Logger {
  readonly verbosity: Verbosity
  readonly json: boolean
  private readonly out: Writable
  private readonly clock: () => Date
  private readonly prefix: string
  private readonly debugOut: ((line: string) => void) | null

  constructor (opts: LoggerOptions = {}) {
    this.verbosity = opts.verbosity ?? 'normal'
    this.json = opts.json ?? false
    this.out = opts.out ?? process.stderr
    this.clock = opts.clock ?? (() => new Date())
    this.prefix = opts.prefix ?? ''
    this.debugOut = opts.debugOut ?? null
  }

  /** Whether debug lines go anywhere (worth composing a costly one, e.g. a periodic summary). */
  get debugShown (): boolean {
    return this.verbosity === 'verbose' || this.debugOut !== null
  }

  debug (msg: string, fields?: Fields): void { this.write('debug', msg, fields) }
  event (msg: string, fields?: Fields): void { this.write('event', msg, fields) }
  warn (msg: string, fields?: Fields): void { this.write('warn', msg, fields) }
  error (msg: string, fields?: Fields): void { this.write('error', msg, fields) }

  private shows (level: Level): boolean {
    if (level === 'debug') return this.verbosity === 'verbose'
    if (level === 'event') return this.verbosity !== 'quiet'
    return true
  }

  private write (level: Level, rawMsg: string, rawFields: Fields = {}): void {
    const shown = this.shows(level)
    if (!shown && this.debugOut === null) return
    const msg = sanitizeText(rawMsg, { maxChars: MAX_LINE_CHARS })
    const fields: Fields = {}
    for (const [k, v] of Object.entries(rawFields)) fields[k] = typeof v === 'string' ? sanitizeText(v) : v
    const now = this.clock()
    const tag = level === 'warn' ? 'warning: ' : level === 'error' ? 'error: ' : level === 'debug' ? 'debug: ' : ''
    // Milliseconds: a post-mortem lines these up with engine traces and test samples.
    this.debugOut?.(`${now.toISOString()} ${tag}${msg}${formatFields(fields)}`)
    if (!shown) return
    if (this.json) {
      const line: Record<string, unknown> = { time: now.toISOString(), level, msg }
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) line[k] = v
      this.out.write(JSON.stringify(line) + '\n')
      return
    }
    const stamp = now.toTimeString().slice(0, 8)
    const extra = this.verbosity === 'verbose' ? formatFields(fields) : ''
    this.out.write(`${this.prefix}${stamp} ${level === 'debug' ? '' : tag}${msg}${extra}\n`)
  }
}

function formatFields (fields: Fields): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${String(v)}`)
  return parts.length > 0 ? `  (${parts.join(' ')})` : ''
}
