/** Where watchmesh keeps its files on this machine; the rules per system are in platform.ts. */
import { configDir as platformConfigDir, controlEndpoint, hostPlatform, runtimeDir as platformRuntimeDir } from '../platform.js'

export function configDir (env: NodeJS.ProcessEnv = process.env): string {
  return platformConfigDir(hostPlatform(env))
}

/** Per-user runtime directory for the control socket: $XDG_RUNTIME_DIR, else a per-user temp dir. */
export function runtimeDir (env: NodeJS.ProcessEnv = process.env): string {
  return platformRuntimeDir(hostPlatform(env))
}

/** The control socket `watchmesh status` talks to: --control, else $WATCHMESH_CONTROL, else the default. */
export function controlPath (env: NodeJS.ProcessEnv = process.env, explicit?: string): string {
  return controlEndpoint(hostPlatform(env), explicit)
}
