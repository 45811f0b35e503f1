/**
 * mpv's JSON IPC (`--input-ipc-server`): one JSON object per line each way, over a Unix socket on
 * Linux and macOS or a named pipe (`\\.\pipe\NAME`) on Windows; Node's `net` speaks both. Commands
 * carry a request id and their replies are matched by it; everything else mpv sends is an event
 * (property changes of observed properties, `seek`, `playback-restart`, `shutdown`...).
 *
 * Every line is numbered as it arrives, so a caller can tell whether a reply is older than an event
 * it has already applied (replies are handed over a microtask later than the events around them).
 * The socket closing means the player is gone. mpv's IPC has no authentication: local use only.
 */
import { EventEmitter } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { WatchmeshError } from '../errors.js'
import { asRecord, asString } from './values.js'
import { LATE_ANSWER_MAX_MS, startDeadline } from './deadline.js'
import type { Deadline, LateAnswer } from './deadline.js'

/** Connecting to a local socket takes microseconds; one that does not answer in this is not mpv. */
export const CONNECT_TIMEOUT_MS = 2_000
/**
 * mpv answers in well under a millisecond; it may stall a moment while it opens a file. A reply
 * already received when this falls due still counts (deadline.ts).
 */
export const CALL_TIMEOUT_MS = 2_000
/** mpv's lines are short (a property change, a reply); a longer one is not mpv talking. */
const MAX_LINE_BYTES = 64 * 1024
/**
 * Far more than we ever have in flight (requests past their deadline, awaiting a late answer,
 * included); a caller that piles up more has a bug, or mpv stopped answering long ago.
 */
const MAX_PENDING_REQUESTS = 256

export interface MpvEvent {
  /** `property-change`, `seek`, `playback-restart`, `end-file`, `shutdown`, ... */
  event: string
  /** For property changes: the observe id, the property name and its value (null: unavailable). */
  id?: number
  name?: string
  data?: unknown
}

export interface MpvSocketEvents {
  event: [MpvEvent, number]
  /** The connection ended (mpv quit or crashed); no further events follow. */
  close: []
  /** A line that is not mpv's JSON was dropped. */
  garbage: [string]
}

export interface MpvReply {
  data: unknown
  /** Arrival number of the reply (see `latest`). */
  arrival: number
}

interface Waiting {
  resolve: (reply: MpvReply) => void
  reject: (err: Error) => void
  timer: Deadline
  what: string
  /** Past its deadline (already rejected): a reply now only tells `onLate`. */
  late: boolean
  onLate?: LateAnswer
}

export class MpvSocket extends EventEmitter<MpvSocketEvents> {
  readonly path: string
  private readonly socket: Socket
  private readonly waiting = new Map<number, Waiting>()
  private nextId = 1
  private buf = ''
  private arrivals = 0
  private closed = false

  private constructor (path: string, socket: Socket) {
    super()
    this.path = path
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('error', () => {}) // 'close' follows and says it
    socket.on('close', () => this.onClose())
  }

  /** Connects to the mpv at `path`; rejects with PLAYER_GONE when nothing listens there. */
  static async connect (path: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<MpvSocket> {
    return await new Promise((resolve, reject) => {
      const socket = connect(path)
      const timer = setTimeout(() => { socket.destroy(); reject(WatchmeshError.playerGone(`mpv at ${path}`)) }, timeoutMs)
      socket.once('connect', () => { clearTimeout(timer); resolve(new MpvSocket(path, socket)) })
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        socket.destroy()
        reject(new WatchmeshError('PLAYER_GONE', `no mpv answers on ${path} (${err.code ?? err.message})`, { cause: err }))
      })
    })
  }

  /** Arrival number of the last line received. */
  get latest (): number {
    return this.arrivals
  }

  get isOpen (): boolean {
    return !this.closed
  }

  /**
   * Sends a command, e.g. `['set_property', 'pause', true]`; resolves with mpv's `data`. No reply
   * within `timeoutMs` rejects with PLAYER_NOT_ANSWERING; `onLate` is then told whether mpv carried
   * it out after all (a success reply within LATE_ANSWER_MAX_MS).
   */
  async command (args: unknown[], timeoutMs = CALL_TIMEOUT_MS, onLate?: LateAnswer): Promise<MpvReply> {
    const what = String(args[0])
    if (this.closed) throw WatchmeshError.playerGone(`mpv at ${this.path}`)
    if (this.waiting.size >= MAX_PENDING_REQUESTS) throw new WatchmeshError('PLAYER_NOT_ANSWERING', `mpv at ${this.path} is not answering (${MAX_PENDING_REQUESTS} requests pending)`)
    const id = this.nextId++
    return await new Promise((resolve, reject) => {
      const w: Waiting = {
        resolve,
        reject,
        what,
        late: false,
        timer: startDeadline(timeoutMs, () => {
          reject(new WatchmeshError('PLAYER_NOT_ANSWERING', `mpv at ${this.path} did not answer ${what} within ${timeoutMs} ms`))
          if (onLate === undefined) {
            this.waiting.delete(id)
            return
          }
          w.late = true
          w.onLate = onLate
          w.timer = startDeadline(LATE_ANSWER_MAX_MS, () => this.settle(id, false))
        })
      }
      this.waiting.set(id, w)
      this.socket.write(JSON.stringify({ command: args, request_id: id }) + '\n')
    })
  }

  close (): void {
    this.socket.destroy()
    this.onClose()
  }

  private onData (chunk: string): void {
    this.buf += chunk
    let nl
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      this.arrivals++
      if (line.trim() !== '') this.onLine(line)
      if (this.closed) return
    }
    if (this.buf.length > MAX_LINE_BYTES) {
      this.emit('garbage', `a line longer than ${MAX_LINE_BYTES} bytes`)
      this.close()
    }
  }

  private onLine (line: string): void {
    let msg: Record<string, unknown> | null
    try {
      msg = asRecord(JSON.parse(line))
    } catch {
      msg = null
    }
    if (msg === null) {
      this.emit('garbage', line.slice(0, 80))
      return
    }
    const event = asString(msg.event)
    if (event !== null) {
      const ev: MpvEvent = { event }
      if (typeof msg.id === 'number') ev.id = msg.id
      const name = asString(msg.name)
      if (name !== null) ev.name = name
      if ('data' in msg) ev.data = msg.data
      this.emit('event', ev, this.arrivals)
      return
    }
    if (typeof msg.request_id !== 'number') return // a reply to a command sent without an id: not ours
    const w = this.waiting.get(msg.request_id)
    if (w === undefined) return
    if (w.late) return this.settle(msg.request_id, msg.error === 'success')
    this.waiting.delete(msg.request_id)
    w.timer.clear()
    if (msg.error === 'success') w.resolve({ data: msg.data ?? null, arrival: this.arrivals })
    else w.reject(new WatchmeshError('PLAYER_COMMAND_FAILED', `mpv refused ${w.what}: ${String(msg.error)}`))
  }

  /** A request past its deadline ends: mpv carried it out late (`answered`), or never will. */
  private settle (id: number, answered: boolean): void {
    const w = this.waiting.get(id)
    if (w === undefined) return
    this.waiting.delete(id)
    w.timer.clear()
    w.onLate?.(answered)
  }

  private onClose (): void {
    if (this.closed) return
    this.closed = true
    for (const w of this.waiting.values()) {
      w.timer.clear()
      if (w.late) w.onLate?.(false)
      else w.reject(WatchmeshError.playerGone(`mpv at ${this.path}`))
    }
    this.waiting.clear()
    this.emit('close')
  }
}
