/**
 * What the daemon learnt about each kind of player (start latency, rate jump, reading lags: see
 * sync/learnt.ts), kept in `players.json` in watchmesh's config folder beside the identity, so a
 * restarted daemon, or a new player of the same kind, starts from it instead of from first guesses.
 *
 * The file is ours but may be anything by the time we read it (an older version, a crash while an
 * editor had it, a hand edit): what cannot be read is ignored with one log line, never fatal, and
 * every value is clamped to its sane range. It is written rarely (when a player goes away, when
 * the daemon stops, and at most every SAVE_INTERVAL_MS while something changed), and atomically: a
 * temporary file renamed over the old one, so a reader never sees half a file.
 */
import { readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { toLearnt } from '../sync/learnt.js'
import type { LearntPlayer } from '../sync/types.js'

export const PLAYER_MEMORY_FILE = 'players.json'
/** The file's format; another version is ignored (and replaced at the next save). */
export const PLAYER_MEMORY_VERSION = 1
/** Kinds remembered at most, the most recently seen kept: one viewer uses one or two players. */
export const MAX_REMEMBERED_PLAYERS = 16
/** A bigger file is not one we wrote (16 small records); it is not read. */
export const MAX_PLAYER_MEMORY_BYTES = 64 * 1024
/** While a player plays on, what was learnt is saved at most this often (a crash loses less). */
export const SAVE_INTERVAL_MS = 10 * 60_000

interface FileShape {
  version: number
  players: Record<string, LearntPlayer & { savedAt: string }>
}

export class PlayerMemory {
  private readonly players = new Map<string, LearntPlayer & { savedAt: string }>()
  private dirty = false
  private saving: Promise<void> = Promise.resolve()

  /** `dir`: the config folder; `warn` says once why a file was ignored. */
  private constructor (private readonly dir: string, private readonly warn: (msg: string) => void) {}

  static async load (dir: string, warn: (msg: string) => void): Promise<PlayerMemory> {
    const memory = new PlayerMemory(dir, warn)
    await memory.read()
    return memory
  }

  get path (): string {
    return join(this.dir, PLAYER_MEMORY_FILE)
  }

  /** What was learnt of this kind of player (kind.ts), or undefined. */
  get (kind: string): LearntPlayer | undefined {
    const entry = this.players.get(kind)
    if (entry === undefined) return undefined
    const { savedAt: _, ...learnt } = entry
    return learnt
  }

  /** Keeps what was learnt of `kind` (saved at the next `save`). */
  remember (kind: string, learnt: LearntPlayer, now: Date = new Date()): void {
    const clean = toLearnt(learnt)
    if (clean === null) return
    const before = this.get(kind)
    if (before !== undefined && sameLearnt(before, clean)) return
    this.players.delete(kind)
    this.players.set(kind, { ...clean, savedAt: now.toISOString() })
    while (this.players.size > MAX_REMEMBERED_PLAYERS) this.players.delete(this.players.keys().next().value as string)
    this.dirty = true
  }

  /**
   * Writes the file if anything changed since it was read or last written; a failure is said, not
   * thrown. Saves run one after another (each resolves once its own write is done).
   */
  async save (): Promise<void> {
    this.saving = this.saving.then(async () => await this.write())
    await this.saving
  }

  private async write (): Promise<void> {
    if (!this.dirty) return
    this.dirty = false
    const body: FileShape = { version: PLAYER_MEMORY_VERSION, players: Object.fromEntries(this.players) }
    const tmp = `${this.path}.${process.pid}.tmp`
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      await writeFile(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 })
      await rename(tmp, this.path)
    } catch (err) {
      this.dirty = true
      await rm(tmp, { force: true }).catch(() => {})
      this.warn(`could not save what was learnt about the player to ${this.path}: ${(err as Error).message}`)
    }
  }

  private async read (): Promise<void> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`ignoring ${this.path}: ${(err as Error).message}`)
      return
    }
    const ignore = (why: string): void => this.warn(`ignoring ${this.path} (${why}); the player's parameters are learnt afresh`)
    if (text.length > MAX_PLAYER_MEMORY_BYTES) return ignore(`over ${MAX_PLAYER_MEMORY_BYTES} bytes`)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return ignore('not valid JSON')
    }
    const file = parsed as Partial<FileShape> | null
    if (typeof file !== 'object' || file === null || file.version !== PLAYER_MEMORY_VERSION) return ignore(`not version ${PLAYER_MEMORY_VERSION}`)
    if (typeof file.players !== 'object' || file.players === null) return ignore('no players')
    let bad = 0
    for (const [kind, raw] of Object.entries(file.players).slice(-MAX_REMEMBERED_PLAYERS)) {
      const learnt = toLearnt(raw)
      if (learnt === null) {
        bad++
        continue
      }
      const savedAt = typeof (raw as { savedAt?: unknown }).savedAt === 'string' ? (raw as { savedAt: string }).savedAt : ''
      this.players.set(kind, { ...learnt, savedAt })
    }
    if (bad > 0) this.warn(`ignoring ${bad} unreadable record${bad === 1 ? '' : 's'} in ${this.path}`)
  }
}

/** Equal to a hundredth of a ms: nothing worth a write. */
function sameLearnt (a: LearntPlayer, b: LearntPlayer): boolean {
  return (Object.keys(a) as Array<keyof LearntPlayer>).every(k => Math.abs(a[k] - b[k]) < 0.01)
}
