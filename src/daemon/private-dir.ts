/**
 * The control socket's directory must be ours alone. Without XDG_RUNTIME_DIR it lives under the
 * shared temp dir, where another local user can create it first (and own it, or link it
 * elsewhere): then our daemon could not listen there and `status` would talk to the squatter.
 * So: create it user-only, and before using it check that it is a real directory (not a link),
 * owned by us, with no access for group or others; otherwise refuse with a clear error.
 */
import { lstat, mkdir } from 'node:fs/promises'
import { WatchmeshError } from '../errors.js'

/** Creates `dir` (mode 0700) when missing, then checks it as `checkPrivateDir` does. */
export async function ensurePrivateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await checkPrivateDir(dir)
}

/**
 * Throws CONTROL_UNAVAILABLE, saying what is wrong and what to do, unless `dir` is ours alone. A
 * missing directory passes: nothing can answer there (connecting will say so).
 */
export async function checkPrivateDir (dir: string): Promise<void> {
  if (typeof process.getuid !== 'function') return // no Unix owners to check (Windows pipes live elsewhere)
  let info
  try {
    info = await lstat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new WatchmeshError('CONTROL_UNAVAILABLE', `cannot check ${dir}: ${(err as Error).message}`)
  }
  const uid = process.getuid()
  const problem = info.isSymbolicLink()
    ? 'is a symbolic link'
    : !info.isDirectory()
        ? 'is not a directory'
        : info.uid !== uid
          ? `belongs to another user (uid ${info.uid}, not ${uid})`
          : (info.mode & 0o077) !== 0
              ? `is open to other users (mode ${(info.mode & 0o777).toString(8)}, must be 700)`
              : null
  if (problem !== null) {
    throw new WatchmeshError('CONTROL_UNAVAILABLE', `refusing the control socket directory ${dir}: it ${problem}. Someone else may have made it; remove it, or set XDG_RUNTIME_DIR, --control or WATCHMESH_CONTROL to a directory of your own.`)
  }
}
