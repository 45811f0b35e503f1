/**
 * The node's identity: a 32-byte seed for the swarm keypair, kept in the config dir (mode 0600 where
 * Unix modes exist; on Windows the profile folder's access rules protect it, see platform.ts) so
 * that a restarted daemon is recognised as the same viewer and replaces its old session at once
 * (with a fresh key the others keep a ghost for ~15 s, facts.md).
 *
 * Two daemons of one user on one machine must not share a key (the mesh keeps one connection per
 * key). The first holds a lock file with its pid; a second one gets a fresh, unsaved key.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const SEED_BYTES = 32

export interface Identity {
  seed: Uint8Array
  /** False when another running daemon holds the saved identity and this one is temporary. */
  persistent: boolean
  release (): Promise<void>
}

export async function loadIdentity (dir: string): Promise<Identity> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const lockPath = join(dir, 'identity.lock')
  if (!(await takeLock(lockPath))) {
    return { seed: randomBytes(SEED_BYTES), persistent: false, release: async () => {} }
  }
  const seedPath = join(dir, 'identity')
  let seed: Uint8Array | null = null
  try {
    const hex = (await readFile(seedPath, 'utf8')).trim()
    if (/^[0-9a-f]{64}$/.test(hex)) seed = Buffer.from(hex, 'hex')
  } catch {}
  if (seed === null) {
    seed = randomBytes(SEED_BYTES)
    await writeFile(seedPath, Buffer.from(seed).toString('hex') + '\n', { mode: 0o600 })
  }
  return { seed, persistent: true, release: async () => { await rm(lockPath, { force: true }) } }
}

/** Creates the lock, or takes over one left by a process that no longer runs. */
async function takeLock (path: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(`${process.pid}\n`)
      await fh.close()
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) return false
    await rm(path, { force: true })
  }
  return false
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
