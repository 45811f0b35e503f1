/**
 * The D-Bus boundary: connecting, calling with a deadline, and turning D-Bus values (Variants,
 * BigInt Int64s) into plain JavaScript before anything else in watchmesh sees them.
 */
import type { EventEmitter } from 'node:events'
import { DBusError, Message, Variant, sessionBus } from '@jellybrick/dbus-next'
import type { MessageBus } from '@jellybrick/dbus-next'
import { WatchmeshError } from '../errors.js'
import { asRecord, describeError as describePlain } from './values.js'
import { LATE_ANSWER_MAX_MS, startDeadline } from './deadline.js'
import type { Deadline, LateAnswer } from './deadline.js'

export { asBoolean, asNumber, asRecord, asString, asStringArray } from './values.js'

export type { MessageBus }

/** Connecting to a local socket takes a few ms; a bus that does not answer in this is not there. */
const CONNECT_TIMEOUT_MS = 5_000
/**
 * A player answers in well under a millisecond when healthy; mpv can stall for a moment while it
 * opens a file. Past this the call is abandoned (the library itself never times out); a reply
 * already received when it falls due still counts (deadline.ts).
 */
export const CALL_TIMEOUT_MS = 2_000

export const DBUS_NAME = 'org.freedesktop.DBus'
export const DBUS_PATH = '/org/freedesktop/DBus'
export const PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties'

/** D-Bus errors that mean "the peer is not there (any more)". */
const GONE_ERRORS = new Set([
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.Disconnected'
])

/**
 * Connects to a session bus (default: DBUS_SESSION_BUS_ADDRESS). `onError` receives connection
 * errors after the connection is up (MessageBus emits them and would crash the process unheard).
 */
export async function connectBus (address: string | undefined, onError: (err: Error) => void): Promise<MessageBus> {
  const busAddress = address ?? process.env.DBUS_SESSION_BUS_ADDRESS
  if (busAddress === undefined || busAddress === '') {
    throw WatchmeshError.noPlayer('no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set (MPRIS players live on the session bus)')
  }
  const bus = sessionBus({ busAddress })
  // MessageBus emits 'error' at runtime though its typed event map leaves it out.
  const errors = bus as unknown as EventEmitter
  let connected = false
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS)
      bus.once('connect', () => { clearTimeout(timer); resolve() })
      errors.on('error', (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err))
        if (connected) onError(e)
        else { clearTimeout(timer); reject(e) }
      })
    })
  } catch (err) {
    bus.disconnect()
    throw WatchmeshError.noPlayer(`cannot connect to the D-Bus session bus at ${busAddress}: ${err instanceof Error ? err.message : String(err)}`)
  }
  connected = true
  // A bus that goes away (dbus-daemon killed or restarted) only ends the stream: MessageBus keeps
  // that 'end' to its connection (a field outside its typings), and nothing else tells until a
  // call fails. Where the field is missing, failed calls still show it.
  const connection = (bus as unknown as { _connection?: EventEmitter })._connection
  connection?.once('end', () => onError(new Error('the bus closed the connection')))
  return bus
}

export interface MethodCall {
  destination: string
  path: string
  iface: string
  member: string
  signature?: string
  body?: unknown[]
}

/**
 * The order in which messages arrived on a connection. The library emits a signal synchronously
 * while the reply that arrived just before it resolves a promise, whose continuation runs later:
 * without this, a read could be applied after a newer signal and undo it.
 */
export class ArrivalOrder {
  private seq = 0
  private readonly seen = new WeakMap<object, number>()

  constructor (bus: MessageBus) {
    bus.on('message', msg => { this.seen.set(msg, ++this.seq) })
  }

  /** The arrival number of the message being dispatched now (inside a signal handler). */
  get latest (): number {
    return this.seq
  }

  of (msg: object): number | undefined {
    return this.seen.get(msg)
  }
}

const orders = new WeakMap<MessageBus, ArrivalOrder>()

/** One ArrivalOrder per connection, created on first use. */
export function arrivalOrder (bus: MessageBus): ArrivalOrder {
  let order = orders.get(bus)
  if (order === undefined) {
    order = new ArrivalOrder(bus)
    orders.set(bus, order)
  }
  return order
}

/**
 * Calls a method and resolves with the reply body; rejects with a DBusError or, on the deadline,
 * a CallTimeoutError. After a CallTimeoutError, `onLate` is told whether the reply came after all
 * (within LATE_ANSWER_MAX_MS).
 */
export async function callMethod (bus: MessageBus, call: MethodCall, timeoutMs = CALL_TIMEOUT_MS, onLate?: LateAnswer): Promise<unknown[]> {
  return (await callForReply(bus, call, timeoutMs, onLate)).body
}

/** As callMethod, with the reply's arrival number on this connection. */
export async function callForReply (bus: MessageBus, call: MethodCall, timeoutMs = CALL_TIMEOUT_MS, onLate?: LateAnswer): Promise<{ body: unknown[], arrival: number }> {
  const order = arrivalOrder(bus)
  const msg = new Message({
    destination: call.destination,
    path: call.path,
    interface: call.iface,
    member: call.member,
    signature: call.signature ?? '',
    body: call.body ?? []
  })
  const pending = bus.call(msg)
  let timer: Deadline | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = startDeadline(timeoutMs, () => {
      reject(new CallTimeoutError(`${call.member} on ${call.destination}: no reply within ${timeoutMs} ms`))
      if (onLate !== undefined) awaitLateAnswer(pending, onLate)
    })
  })
  try {
    const reply = await Promise.race([pending, deadline])
    return { body: reply?.body ?? [], arrival: reply === null ? order.latest : order.of(reply) ?? order.latest }
  } finally {
    timer?.clear()
  }
}

/** Tells `onLate` once whether `pending` (a call past its deadline) was answered within LATE_ANSWER_MAX_MS. */
function awaitLateAnswer (pending: Promise<unknown>, onLate: LateAnswer): void {
  let told = false
  const tell = (answered: boolean): void => {
    if (told) return
    told = true
    wait.clear()
    onLate(answered)
  }
  const wait = startDeadline(LATE_ANSWER_MAX_MS, () => tell(false))
  pending.then(() => tell(true), () => tell(false))
}

export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError'
}

/** True when a failed call means the destination has left the bus. */
export function isGoneError (err: unknown): boolean {
  if (err instanceof DBusError) return GONE_ERRORS.has(err.type)
  // The library throws a plain Error when our own connection has closed.
  return err instanceof Error && /stream is closed/i.test(err.message)
}

export function describeError (err: unknown): string {
  if (err instanceof DBusError) return `${err.type}: ${err.text}`
  return describePlain(err)
}

export async function getAllProperties (bus: MessageBus, destination: string, path: string, iface: string, timeoutMs = CALL_TIMEOUT_MS): Promise<Record<string, unknown>> {
  const [props] = await callMethod(bus, { destination, path, iface: PROPERTIES_IFACE, member: 'GetAll', signature: 's', body: [iface] }, timeoutMs)
  return asRecord(plain(props)) ?? {}
}

export async function getProperty (bus: MessageBus, destination: string, path: string, iface: string, name: string, timeoutMs = CALL_TIMEOUT_MS): Promise<unknown> {
  const [value] = await callMethod(bus, { destination, path, iface: PROPERTIES_IFACE, member: 'Get', signature: 'ss', body: [iface, name] }, timeoutMs)
  return plain(value)
}

export async function setProperty (bus: MessageBus, destination: string, path: string, iface: string, name: string, signature: string, value: unknown, onLate?: LateAnswer): Promise<void> {
  await callMethod(bus, { destination, path, iface: PROPERTIES_IFACE, member: 'Set', signature: 'ssv', body: [iface, name, new Variant(signature, value)] }, CALL_TIMEOUT_MS, onLate)
}

/** Calls a method of the bus daemon itself. */
export async function busCall (bus: MessageBus, member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
  return await callMethod(bus, { destination: DBUS_NAME, path: DBUS_PATH, iface: DBUS_NAME, member, signature, body })
}

/**
 * Strips Variants and turns Int64/UInt64 BigInts into numbers (microsecond positions stay far
 * below 2^53), recursively. Everything past this function is plain JSON-like data.
 */
export function plain (value: unknown): unknown {
  if (value instanceof Variant) return plain(value.value)
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = plain(v)
    return out
  }
  return value
}
