/**
 * Every rule that differs between Linux, macOS and Windows, in one place. Each function takes the
 * system as a parameter (`PlatformContext`), so every system's rules are unit-tested on any
 * machine; `hostPlatform()` describes the machine we run on.
 *
 * - Config and identity: $XDG_CONFIG_HOME/watchmesh (else ~/.config) on Linux and other Unix;
 *   ~/Library/Application Support/watchmesh on macOS; %APPDATA%\watchmesh on Windows.
 * - Runtime files (control socket, the IPC socket of an mpv we start): $XDG_RUNTIME_DIR/watchmesh,
 *   else a per-user directory in the temp dir. Windows has no Unix sockets in files: named pipes.
 * - The control endpoint `watchmesh status` talks to: a Unix socket (0600 in a 0700 directory), or
 *   on Windows a named pipe `\\.\pipe\watchmesh-<user>-control`.
 * - What protects the identity file: Unix file modes; on Windows there are none, and the file is
 *   protected by the ACL of the user's profile directory (%APPDATA%), which only that user, SYSTEM and
 *   administrators can read.
 * - Signals that end the daemon cleanly: SIGINT and SIGTERM; on Windows only Ctrl-C (SIGINT) and
 *   Ctrl-Break (SIGBREAK) exist.
 * - mpv: its executable name, the IPC path users are told to give it, and how to install it.
 */
import { homedir, tmpdir, userInfo } from 'node:os'
import { posix, win32 } from 'node:path'

export interface PlatformContext {
  /** `process.platform`: 'linux', 'darwin', 'win32', ... (anything else follows the Linux rules). */
  platform: NodeJS.Platform
  env: NodeJS.ProcessEnv
  home: string
  tmp: string
  /** Numeric user id; null on Windows. */
  uid: number | null
  /** Login name, for per-user names of shared things (pipes). */
  user: string
}

/** The machine we run on, with `env` (default: this process's). */
export function hostPlatform (env: NodeJS.ProcessEnv = process.env): PlatformContext {
  let uid: number | null = null
  let user = 'user'
  try {
    const info = userInfo()
    uid = info.uid >= 0 ? info.uid : null
    user = info.username
  } catch {} // no passwd entry (containers): the defaults do
  return { platform: process.platform, env, home: homedir(), tmp: tmpdir(), uid, user }
}

function isWindows (p: PlatformContext): boolean {
  return p.platform === 'win32'
}

function pathOf (p: PlatformContext): typeof posix {
  return isWindows(p) ? win32 : posix
}

/** Where the config file and the identity live. */
export function configDir (p: PlatformContext): string {
  const path = pathOf(p)
  if (isWindows(p)) return path.join(nonEmpty(p.env.APPDATA) ?? path.join(p.home, 'AppData', 'Roaming'), 'watchmesh')
  if (p.platform === 'darwin') return path.join(p.home, 'Library', 'Application Support', 'watchmesh')
  return path.join(nonEmpty(p.env.XDG_CONFIG_HOME) ?? path.join(p.home, '.config'), 'watchmesh')
}

/** Per-user directory for runtime files: $XDG_RUNTIME_DIR/watchmesh, else a per-user temp dir. */
export function runtimeDir (p: PlatformContext): string {
  const path = pathOf(p)
  const base = nonEmpty(p.env.XDG_RUNTIME_DIR)
  if (base !== undefined) return path.join(base, 'watchmesh')
  return path.join(p.tmp, `watchmesh-${p.uid ?? safeName(p.user)}`)
}

/** The control endpoint `watchmesh status` uses: --control, else $WATCHMESH_CONTROL, else the default. */
export function controlEndpoint (p: PlatformContext, explicit?: string): string {
  const chosen = explicit ?? nonEmpty(p.env.WATCHMESH_CONTROL)
  if (chosen !== undefined) return chosen
  if (isWindows(p)) return `\\\\.\\pipe\\watchmesh-${safeName(p.user)}-control`
  return posix.join(runtimeDir(p), 'control.sock')
}

/** Whether endpoints are files (Unix sockets, protected by modes) rather than Windows named pipes. */
export function endpointsAreFiles (p: PlatformContext): boolean {
  return !isWindows(p)
}

/** What keeps the identity file (the node's secret key seed) private on this system, in words. */
export function identityProtection (p: PlatformContext): { fileMode: number | null, how: string } {
  if (isWindows(p)) {
    return { fileMode: null, how: 'Windows has no Unix file modes: the file is kept private by the access rules of your %APPDATA% profile folder (you, SYSTEM and administrators)' }
  }
  return { fileMode: 0o600, how: 'file mode 0600 in a 0700 directory' }
}

/** Signals that mean "leave the room": Ctrl-C everywhere, SIGTERM where it exists. */
export function stopSignals (p: PlatformContext): NodeJS.Signals[] {
  return isWindows(p) ? ['SIGINT', 'SIGBREAK'] : ['SIGINT', 'SIGTERM']
}

/**
 * The IPC path watchmesh tries when attaching to an mpv the user started (and suggests for
 * `--input-ipc-server`): the name mpv's own manual uses in its examples.
 */
export function defaultMpvIpcPath (p: PlatformContext): string {
  return isWindows(p) ? '\\\\.\\pipe\\mpvsocket' : '/tmp/mpvsocket'
}

/** The IPC path of an mpv that `join --open` starts: one of our own per daemon process. */
export function ownMpvIpcPath (p: PlatformContext, pid: number): string {
  if (isWindows(p)) return `\\\\.\\pipe\\watchmesh-${safeName(p.user)}-mpv-${pid}`
  return posix.join(runtimeDir(p), `mpv-${pid}.sock`)
}

/** mpv's executable name and the directories PATH lists. */
export function executable (p: PlatformContext, name: string): { file: string, dirs: string[] } {
  const dirs = (p.env.PATH ?? p.env.Path ?? '').split(isWindows(p) ? ';' : ':').filter(d => d !== '')
  return { file: isWindows(p) ? `${name}.exe` : name, dirs }
}

/** How to install mpv on this system, for the error that says it is missing. */
export function mpvInstallHint (p: PlatformContext): string {
  switch (p.platform) {
    case 'darwin':
      return 'install it with Homebrew: `brew install mpv` (or give its path with --mpv)'
    case 'win32':
      return 'install it with winget (`winget search mpv` lists the builds) or scoop (`scoop bucket add extras`, then `scoop install mpv`), or from https://mpv.io/installation/ (or give its path with --mpv)'
    default:
      return 'install it with your package manager, e.g. `sudo apt install mpv` (Debian, Ubuntu) or `sudo dnf install mpv` (Fedora) (or give its path with --mpv)'
  }
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value
}

/** A user name as part of a pipe or directory name: no separators or odd characters. */
function safeName (name: string): string {
  return name.replace(/[^\w.-]/g, '_').slice(0, 64) || 'user'
}

/** Whether `path` names a Windows named pipe (no directory to make, no file mode to set). */
export function isNamedPipe (path: string): boolean {
  return /^\\\\[.?]\\pipe\\/i.test(path)
}

/**
 * Which player backend `join` uses when told neither --open nor --mpv-ipc: MPRIS where desktops
 * have a session bus (Linux and other Unix), else the mpv listening on the default IPC path.
 */
export function defaultBackend (p: PlatformContext): { kind: 'mpris' } | { kind: 'mpv-ipc', path: string } {
  return p.platform === 'darwin' || p.platform === 'win32' ? { kind: 'mpv-ipc', path: defaultMpvIpcPath(p) } : { kind: 'mpris' }
}
