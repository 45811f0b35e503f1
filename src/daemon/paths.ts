/** Where watchmesh keeps its files, following the XDG base directory conventions. */
import { homedir, tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

export function configDir (env: NodeJS.ProcessEnv = process.env): string {
  const base = nonEmpty(env.XDG_CONFIG_HOME) ?? join(homedir(), '.config')
  return join(base, 'watchmesh')
}

/** Per-user runtime directory for the control socket: $XDG_RUNTIME_DIR, else a per-user temp dir. */
export function runtimeDir (env: NodeJS.ProcessEnv = process.env): string {
  const base = nonEmpty(env.XDG_RUNTIME_DIR)
  return base !== undefined ? join(base, 'watchmesh') : join(tmpdir(), `watchmesh-${userInfo().uid}`)
}

/** The control socket `watchmesh status` talks to: --control, else $WATCHMESH_CONTROL, else the default. */
export function controlPath (env: NodeJS.ProcessEnv = process.env, explicit?: string): string {
  return explicit ?? nonEmpty(env.WATCHMESH_CONTROL) ?? join(runtimeDir(env), 'control.sock')
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value
}
