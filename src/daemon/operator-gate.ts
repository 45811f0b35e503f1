/**
 * The managed-room rule at the daemon's edge: playback state (`event`, `announce`) travels only
 * inside an operator envelope, signed with the room's operator key (mesh/operator.ts). Outgoing:
 * an operator wraps and signs; a viewer cannot, so its engine's state messages stay home (its
 * engine never authors one: canControl is off). Incoming: a bare state, or an envelope not signed
 * by the key the passphrase commits to, is refused; a good one is unwrapped for the engine.
 */
import { operatorEnvelopeFault, signAsOperator } from '../mesh/operator.js'
import type { OperatorKeyPair } from '../mesh/operator.js'
import { decodeSyncMessage, encodeSyncMessage } from '../sync/codec.js'
import type { SyncMessage } from '../sync/types.js'
import { isWatchmeshError } from '../errors.js'

export interface OperatorGateOptions {
  /** The room's secret id (keys.ts): a signature is bound to this room. */
  roomId: Uint8Array
  /** The commitment the viewers' passphrase carries. */
  commitment: string
  /** The operator key pair when this node holds the operator secret; null for a viewer. */
  keys: OperatorKeyPair | null
}

export type GateResult = { msg: SyncMessage } | { refused: string }

export class OperatorGate {
  readonly isOperator: boolean

  constructor (private readonly opts: OperatorGateOptions) {
    this.isOperator = opts.keys !== null
  }

  /** The bytes to send for `msg`, or null when this node may not send it. */
  outgoing (msg: SyncMessage): Uint8Array | null {
    if (msg.type !== 'event' && msg.type !== 'announce') return encodeSyncMessage(msg)
    const keys = this.opts.keys
    if (keys === null) return null
    const inner = encodeSyncMessage(msg)
    return encodeSyncMessage({ type: 'operated', operatorKey: keys.publicKey, signature: signAsOperator(this.opts.roomId, inner, keys), inner })
  }

  /** What the engine may see of a received message. */
  incoming (msg: SyncMessage): GateResult {
    if (msg.type === 'event' || msg.type === 'announce') return { refused: 'playback state without an operator signature in a managed room' }
    if (msg.type !== 'operated') return { msg }
    const fault = operatorEnvelopeFault(this.opts.roomId, this.opts.commitment, msg)
    if (fault !== null) return { refused: fault }
    let inner: SyncMessage
    try {
      inner = decodeSyncMessage(msg.inner)
    } catch (err) {
      return { refused: `operator envelope holds garbage: ${isWatchmeshError(err) ? err.message : String(err)}` }
    }
    if (inner.type !== 'event' && inner.type !== 'announce') return { refused: `operator envelope holds a ${inner.type}, not a state` }
    return { msg: inner }
  }
}
