/**
 * The parent's side of mesh-node.js: spawn it, read its events, send it commands, kill it.
 * Every child is tracked by the fixtures' cleanup, so a failing test cannot leave one behind.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { trackChild } from '../fixtures/cleanup.js'
import { waitFor } from '../fixtures/wait.js'
import type { RoomKeys } from '../../src/mesh/types.js'
import type { MeshLimits } from '../../src/mesh/types.js'

export const MESH_NODE_SCRIPT = fileURLToPath(new URL('./mesh-node.js', import.meta.url))

export interface ChildEvent {
  ev: 'started' | 'peer-up' | 'peer-down' | 'message' | 'sent' | 'stats' | 'closed'
  t: number
  id?: string
  name?: string
  reason?: 'left' | 'lost'
  from?: string
  author?: string
  text?: string
  broadcast?: boolean
  rssBytes?: number
  cpuUs?: number
  peers?: number
  links?: Array<{ peer: string, read: number, written: number, udxBytesSent: number, udxPacketsSent: number }>
}

export interface ChildOptions {
  bootstrap: Array<{ host: string, port: number }>
  keys: RoomKeys
  name: string
  seed?: Uint8Array
  limits?: Partial<MeshLimits>
  /** As the daemon on a private network: its DHT node is not firewalled. */
  reachable?: boolean
  /** Where the child's log lines go; default: dropped. */
  stderr?: (line: string) => void
}

export class ChildNode {
  readonly events: ChildEvent[] = []
  readonly process: ChildProcess
  id = ''

  constructor (opts: ChildOptions) {
    const config = {
      bootstrap: opts.bootstrap,
      bucket: opts.keys.bucket,
      topic: Buffer.from(opts.keys.topic).toString('hex'),
      authKey: Buffer.from(opts.keys.authKey).toString('hex'),
      roomId: Buffer.from(opts.keys.roomId).toString('hex'),
      name: opts.name,
      ...(opts.seed !== undefined ? { seed: Buffer.from(opts.seed).toString('hex') } : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
      ...(opts.reachable !== undefined ? { reachable: opts.reachable } : {})
    }
    this.process = spawn(process.execPath, [MESH_NODE_SCRIPT, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
    trackChild(this.process)
    createInterface({ input: this.process.stdout as NodeJS.ReadableStream }).on('line', line => {
      const event = JSON.parse(line) as ChildEvent
      if (event.ev === 'started' && event.id !== undefined) this.id = event.id
      this.events.push(event)
    })
    const stderr = opts.stderr
    createInterface({ input: this.process.stderr as NodeJS.ReadableStream }).on('line', line => stderr?.(line))
  }

  get exited (): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null
  }

  async started (timeoutMs = 15_000): Promise<string> {
    await waitFor('the child mesh to start', () => this.id !== '' || (this.exited ? Promise.reject(new Error('child exited')) : false), { timeoutMs })
    return this.id
  }

  /** The first event (after index `from`) matching `match`. */
  async next (what: string, match: (e: ChildEvent) => boolean, opts: { from?: number, timeoutMs?: number } = {}): Promise<ChildEvent> {
    return await waitFor(what, () => this.events.slice(opts.from ?? 0).find(match), { timeoutMs: opts.timeoutMs ?? 15_000 })
  }

  command (cmd: Record<string, unknown>): void {
    if (!this.exited) this.process.stdin?.write(JSON.stringify(cmd) + '\n')
  }

  kill9 (): void {
    this.process.kill('SIGKILL')
  }

  /** A clean close (goodbyes), SIGKILL if it has not exited within `graceMs`. */
  async close (graceMs = 5000): Promise<void> {
    if (this.exited) return
    const exited = new Promise<void>(resolve => this.process.once('exit', () => resolve()))
    this.command({ cmd: 'close' })
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
}
