/**
 * The local control socket: `watchmesh status` asks the running daemon what it knows.
 * A Unix socket in a user-only directory (0700) with a user-only socket file (0600), or on Windows a
 * named pipe (platform.ts); one JSON line in (`{"cmd":"status"}`, `{"cmd":"say","text":"back in 5"}`),
 * one JSON line out, then the connection closes.
 */
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { chmod, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { WatchmeshError } from '../errors.js'
import { checkPrivateDir, ensurePrivateDir } from './private-dir.js'
import { isNamedPipe } from '../platform.js'

/** A request is one short JSON line; anything longer is not a client of ours. */
const REQUEST_MAX_BYTES = 4096
/** A local daemon answers in well under a millisecond; this only guards against a wedged one. */
const CLIENT_TIMEOUT_MS = 3000

/** A request: the command, and the text of `say`. */
export interface ControlRequest { cmd: string, text?: string }
export type ControlHandler = (request: ControlRequest) => unknown

export class ControlServer {
  readonly path: string
  private readonly handler: ControlHandler
  private server: Server | null = null

  constructor (opts: { path: string, handler: ControlHandler }) {
    this.path = opts.path
    this.handler = opts.handler
  }

  /** Rejects with CONTROL_UNAVAILABLE when another live daemon already answers on this path. */
  async start (): Promise<void> {
    // A Windows named pipe has no directory and no file mode (platform.ts says what protects it).
    const pipe = isNamedPipe(this.path)
    if (!pipe) await ensurePrivateDir(dirname(this.path))
    if (await isAnswering(this.path)) {
      throw new WatchmeshError('CONTROL_UNAVAILABLE', `another watchmesh daemon already answers on ${this.path}`)
    }
    if (!pipe) await rm(this.path, { force: true })
    const server = createServer(socket => this.serve(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => { server.off('error', reject); resolve() })
    })
    server.on('error', () => {})
    if (!pipe) await chmod(this.path, 0o600)
    this.server = server
  }

  async close (): Promise<void> {
    const server = this.server
    this.server = null
    if (server === null) return
    await new Promise<void>(resolve => server.close(() => resolve()))
    if (!isNamedPipe(this.path)) await rm(this.path, { force: true })
  }

  private serve (socket: Socket): void {
    let buf = ''
    socket.setEncoding('utf8')
    socket.on('error', () => {})
    socket.setTimeout(CLIENT_TIMEOUT_MS, () => socket.destroy())
    socket.on('data', (chunk: string) => {
      buf += chunk
      if (buf.length > REQUEST_MAX_BYTES) { socket.destroy(); return }
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      let reply: unknown
      try {
        const req = JSON.parse(buf.slice(0, nl)) as { cmd?: unknown, text?: unknown }
        const text = typeof req.text === 'string' ? { text: req.text } : {}
        reply = typeof req.cmd === 'string' ? this.handler({ cmd: req.cmd, ...text }) : { error: 'missing "cmd"' }
      } catch (err) {
        reply = err instanceof WatchmeshError ? { error: err.message, code: err.code } : { error: 'bad request' }
      }
      socket.end(JSON.stringify(reply) + '\n')
    })
  }
}

/** Sends one request to the daemon at `path` and returns its parsed reply. */
export async function request (path: string, cmd: string, text?: string): Promise<unknown> {
  // A socket in a directory someone else controls may be theirs: never talk to it.
  if (!isNamedPipe(path)) await checkPrivateDir(dirname(path))
  return await new Promise((resolve, reject) => {
    const socket = connect(path)
    let buf = ''
    const fail = (err: Error & { code?: string }): void => {
      socket.destroy()
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new WatchmeshError('CONTROL_UNAVAILABLE', `no watchmesh daemon answers on ${path}; is \`watchmesh join\` running? (pick another with --control or WATCHMESH_CONTROL)`))
      } else {
        reject(new WatchmeshError('CONTROL_UNAVAILABLE', `cannot reach the daemon on ${path}: ${err.message}`))
      }
    }
    socket.setEncoding('utf8')
    socket.setTimeout(CLIENT_TIMEOUT_MS, () => fail(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })))
    socket.on('error', fail)
    socket.on('connect', () => socket.write(JSON.stringify(text === undefined ? { cmd } : { cmd, text }) + '\n'))
    socket.on('data', (chunk: string) => { buf += chunk })
    socket.on('end', () => {
      try {
        resolve(JSON.parse(buf))
      } catch {
        reject(new WatchmeshError('CONTROL_UNAVAILABLE', `the daemon on ${path} sent an unreadable answer`))
      }
    })
  })
}

async function isAnswering (path: string): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect(path)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}
