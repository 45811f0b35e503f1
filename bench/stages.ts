/**
 * Where an action's latency goes, from the daemons' engine traces (WATCHMESH_TRACE: one JSON line
 * per engine step, `{nowMs, input, actions}`, on each daemon's clock, which counts from the wall
 * clock: the processes of one machine share it to well under a millisecond). For one action made
 * at `pressMs` by one viewer (same clock: performance.timeOrigin + performance.now()) and seen by
 * every other player `latencyMs` later, along the receiver that started last:
 * - notice: press -> the initiator's engine gets the viewer's action (`user` input);
 * - publish: -> the initiator's engine sends it (`broadcast` of an `event`);
 * - delivery: -> the receiver's engine gets it (`message` with that stamp);
 * - lead: -> the receiver's engine sends its `play` (the scheduled start's seek lead and frame wait);
 * - landing: -> the bench sees that player in the new state (the command, the player, the bench's reads).
 * A pause has no `play`: its lead is up to the receiver's `pause` command.
 */
import { readFileSync } from 'node:fs'

export interface TraceStep {
  nowMs: number
  input: { type: string, action?: { kind: string }, msg?: { type: string, state?: { stamp: { lamport: number, nodeId: string } } } }
  actions: Array<{ type: string, msg?: { type: string, state?: { stamp: { lamport: number, nodeId: string } } }, cmd?: { op: string } }>
}

export interface Stages { noticeMs: number, publishMs: number, deliveryMs: number, leadMs: number, landingMs: number }

export const STAGE_KEYS: Array<keyof Stages> = ['noticeMs', 'publishMs', 'deliveryMs', 'leadMs', 'landingMs']

/** A daemon's trace; an unreadable line (one cut short as the daemon stopped) is skipped. */
export function readTrace (path: string): TraceStep[] {
  const steps: TraceStep[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue
    try {
      steps.push(JSON.parse(line) as TraceStep)
    } catch {}
  }
  return steps
}

/** The stages of one action; null when a trace lacks a step (the action was not followed, or another won). */
export function stagesOf (kind: 'pause' | 'resume' | 'seek', pressMs: number, latencyMs: number, initiator: TraceStep[], receivers: TraceStep[][]): Stages | null {
  const user = initiator.find(s => s.nowMs >= pressMs && s.input.type === 'user')
  if (user === undefined) return null
  const sent = initiator.find(s => s.nowMs >= user.nowMs && s.actions.some(a => a.type === 'broadcast' && a.msg?.type === 'event'))
  const stamp = sent?.actions.find(a => a.type === 'broadcast' && a.msg?.type === 'event')?.msg?.state?.stamp
  if (sent === undefined || stamp === undefined) return null
  const op = kind === 'pause' ? 'pause' : 'play'
  let last: { gotMs: number, commandMs: number } | null = null
  for (const steps of receivers) {
    const got = steps.find(s => s.nowMs >= sent.nowMs && s.input.type === 'message' && sameStamp(s.input.msg?.state?.stamp, stamp))
    if (got === undefined) return null
    const command = steps.find(s => s.nowMs >= got.nowMs && s.actions.some(a => a.type === 'player' && a.cmd?.op === op))
    if (command === undefined) return null
    if (last === null || command.nowMs > last.commandMs) last = { gotMs: got.nowMs, commandMs: command.nowMs }
  }
  if (last === null) return null
  return {
    noticeMs: user.nowMs - pressMs,
    publishMs: sent.nowMs - user.nowMs,
    deliveryMs: last.gotMs - sent.nowMs,
    leadMs: last.commandMs - last.gotMs,
    landingMs: pressMs + latencyMs - last.commandMs
  }
}

function sameStamp (a: { lamport: number, nodeId: string } | undefined, b: { lamport: number, nodeId: string }): boolean {
  return a !== undefined && a.lamport === b.lamport && a.nodeId === b.nodeId
}
