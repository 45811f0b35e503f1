/**
 * `join --open FILE`: finds mpv (PATH, or `--mpv`) and starts it on the file, paused (the daemon
 * starts it once it knows the room's state), with an IPC path of our own to follow it by.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { access, constants, stat } from 'node:fs/promises'
import { posix, win32 } from 'node:path'
import { WatchmeshError } from '../errors.js'
import { executable, mpvInstallHint } from '../platform.js'
import type { PlatformContext } from '../platform.js'

/** Finds the mpv to run: `explicit` (a path) when given, else `mpv` on PATH; NO_PLAYER with an install hint when there is none. */
export async function findMpv (p: PlatformContext, explicit?: string): Promise<string> {
  if (explicit !== undefined) {
    if (await isExecutable(explicit)) return explicit
    throw WatchmeshError.noPlayer(`--mpv ${explicit}: no such executable file`)
  }
  const { file, dirs } = executable(p, 'mpv')
  const join = p.platform === 'win32' ? win32.join : posix.join
  for (const dir of dirs) {
    const candidate = join(dir, file)
    if (await isExecutable(candidate)) return candidate
  }
  throw WatchmeshError.noPlayer(`mpv is not installed (not found on PATH): ${mpvInstallHint(p)}`)
}

async function isExecutable (path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export interface LaunchedMpv {
  readonly process: ChildProcess
  /** Resolves when mpv has exited (the viewer closed it, or it crashed): how it ended, in words. */
  readonly exited: Promise<string>
  /** Ends mpv (SIGTERM), when it still runs. */
  stop (): void
}

/**
 * Starts `mpv` on `file`, paused, listening on `ipcPath`. Its own output is not ours to print
 * (the terminal belongs to watchmesh's lines); what went wrong is in its exit status.
 */
export function launchMpv (opts: { mpv: string, file: string, ipcPath: string }): LaunchedMpv {
  const child = spawn(opts.mpv, ['--pause', `--input-ipc-server=${opts.ipcPath}`, '--', opts.file], { stdio: 'ignore' })
  const exited = new Promise<string>(resolve => {
    child.once('error', err => resolve(`could not start: ${err.message}`))
    child.once('exit', (code, signal) => resolve(signal !== null ? `ended by ${signal}` : `exited with status ${String(code)}`))
  })
  return {
    process: child,
    exited,
    stop () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    }
  }
}

/** Whether `file` can be opened: a readable file, or something mpv opens by itself (a URL). */
export async function checkOpenable (file: string): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) return
  try {
    if ((await stat(file)).isFile()) return
  } catch {}
  throw WatchmeshError.badUsage(`--open ${file}: no such file`)
}
