/**
 * Real parts for `watchmesh demo`: a private D-Bus session bus per viewer, a test video made by mpv
 * itself, and headless mpv instances (with the mpv-mpris plugin) the demo drives like a user, over
 * mpv's own JSON IPC. Everything started here is stopped by `close()`.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { access, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Reading } from './skew.js'
import { MpvSocket } from '../player/mpv-socket.js'

export const MPRIS_PLUGIN = '/usr/lib/mpv-mpris/mpris.so'
/** Deadlines only: dbus-daemon starts in milliseconds, mpv claims its bus name in 100-300 ms. */
const START_TIMEOUT_MS = 10_000
const IPC_TIMEOUT_MS = 5000

/** True when this machine can run the demo with real players (mpv, its MPRIS plugin, dbus-daemon). */
export async function canUseMpv (): Promise<boolean> {
  const found = await Promise.all([onPath('mpv'), onPath('dbus-daemon'), access(MPRIS_PLUGIN).then(() => true, () => false)])
  return found.every(Boolean)
}

async function onPath (cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue
    try {
      await access(join(dir, cmd))
      return true
    } catch {}
  }
  return false
}

export interface Child {
  readonly process: ChildProcess
  close (): Promise<void>
}

function track (child: ChildProcess): Child {
  const exited = new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  return {
    process: child,
    async close () {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
        await exited
        clearTimeout(timer)
      }
    }
  }
}

/**
 * A bus config of our own rather than the system session.conf: no service activation directories
 * (nothing may auto-start on a private bus) and nothing from /etc that could differ between
 * machines. The Debug.Stats interface (match-rule counts) is compiled into Debian's dbus-daemon.
 * Only the bus's own user may connect, and the users named in `admitUsers` (a player that must run
 * as another user: VLC refuses to run as root).
 */
export function busConfig (socketPath: string, admitUsers: readonly string[] = []): string {
  const admitted = admitUsers.map(u => `\n    <allow user="${u}"/>`).join('')
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>${admitted}
  </policy>
</busconfig>
`
}

/**
 * A private session bus listening on `dir/bus`; resolves with its address. `onSpawn` sees the
 * process at once (tests track it for cleanup before anything can fail).
 */
export async function startBus (dir: string, onSpawn?: (child: ChildProcess) => void, admitUsers: readonly string[] = []): Promise<Child & { address: string }> {
  const configPath = join(dir, 'bus.conf')
  await writeFile(configPath, busConfig(join(dir, 'bus'), admitUsers))
  // --nofork keeps the daemon our direct child, so we hold its handle and can always stop it.
  const child = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] })
  onSpawn?.(child)
  const handle = track(child)
  // It warns about fd limits when not privileged; stderr is kept for error messages only.
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { stderr += c })
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`dbus-daemon printed no address within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`dbus-daemon exited (${String(code)}): ${stderr}`)) })
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c
      const nl = out.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl).trim()) }
    })
  }).catch(async err => { await handle.close(); throw err })
  return { ...handle, address }
}

/**
 * Writes a test video: 25 fps testsrc pattern (one frame = 40 ms) with a tone, encoded by mpv with
 * libavcodec's own mpeg4/aac encoders (present in every ffmpeg build, unlike libx264), a keyframe
 * every second so seeks stay cheap. `videoFilter`: a libavfilter chain applied to the pattern.
 */
export async function encodeMedia (path: string, seconds: number, timeoutMs = 60_000, videoFilter?: string): Promise<void> {
  const video = `testsrc=size=320x240:rate=25:duration=${seconds}${videoFilter === undefined ? '' : ',' + videoFilter}`
  const child = spawn('mpv', ['--no-config', '--really-quiet',
    `av://lavfi:${video}`, `--audio-file=av://lavfi:sine=frequency=440:duration=${seconds}`,
    `--o=${path}`, '--of=matroska', '--ovc=mpeg4', '--ovcopts=g=25,qscale=5', '--oac=aac'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { stderr += c })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', c => resolve(c))
  }).finally(() => clearTimeout(timer))
  if (code !== 0) throw new Error(`mpv could not encode a test video (exit ${String(code)}): ${stderr}`)
}

export interface Mpv extends Child {
  command (args: unknown[]): Promise<unknown>
}

/** Headless mpv on `busAddress`, paused at the start, never exiting by itself (idle + keep-open). */
export async function startMpv (opts: { busAddress: string, file: string, ipcPath: string }): Promise<Mpv> {
  const env: NodeJS.ProcessEnv = { ...process.env, DBUS_SESSION_BUS_ADDRESS: opts.busAddress }
  delete env.DISPLAY
  delete env.WAYLAND_DISPLAY
  const child = spawn('mpv', ['--no-config', `--script=${MPRIS_PLUGIN}`, '--vo=null', '--ao=null', '--idle=yes',
    '--keep-open=always', '--hr-seek=yes', '--really-quiet', '--pause', `--input-ipc-server=${opts.ipcPath}`, opts.file],
  { env, stdio: 'ignore' })
  const handle = track(child)
  try {
    const ipc = await MpvIpc.connect(opts.ipcPath, () => child.exitCode !== null)
    return {
      ...handle,
      command: async args => await ipc.command(args),
      async close () { ipc.close(); await handle.close() }
    }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** mpv's own position (time-pos), stamped with the midpoint of the IPC round trip. */
export async function readMpv (command: (args: unknown[]) => Promise<unknown>): Promise<Reading> {
  const t0 = performance.now()
  const pos = await command(['get_property', 'time-pos'])
  const t1 = performance.now()
  const paused = await command(['get_property', 'pause'])
  if (typeof pos !== 'number') throw new Error(`mpv returned no time-pos (${String(pos)})`)
  return { positionMs: pos * 1000, atMs: (t0 + t1) / 2, playing: paused !== true }
}

/** mpv's JSON IPC for driving a test mpv as its user: the player layer's socket, waited for while mpv starts. */
export class MpvIpc {
  private readonly socket: MpvSocket

  private constructor (socket: MpvSocket) {
    this.socket = socket
  }

  static async connect (path: string, exited: () => boolean): Promise<MpvIpc> {
    const deadline = Date.now() + START_TIMEOUT_MS
    for (;;) {
      const socket = await MpvSocket.connect(path).catch(() => null)
      if (socket !== null) return new MpvIpc(socket)
      if (exited()) throw new Error('mpv exited before opening its IPC socket')
      if (Date.now() > deadline) throw new Error(`mpv IPC socket ${path} did not appear`)
      await sleep(25)
    }
  }

  async command (args: unknown[]): Promise<unknown> {
    return (await this.socket.command(args, IPC_TIMEOUT_MS)).data
  }

  close (): void {
    this.socket.close()
  }
}
