import { appendFileSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { parseBootstrap } from '../mesh/bootstrap.js'
import type { Backend } from '../daemon/create.js'
import type { Daemon } from '../daemon/daemon.js'
import { ControlServer } from '../daemon/control.js'
import { GcWatch, memoryStatus } from '../daemon/memory.js'
import { configDir, controlPath } from '../daemon/paths.js'
import { defaultBackend, hostPlatform, identityProtection, ownMpvIpcPath, runtimeDir, stopSignals } from '../platform.js'
import { checkOpenable, findMpv, launchMpv } from '../player/mpv-launch.js'
import type { LaunchedMpv } from '../player/mpv-launch.js'
import { configFile, loadConfig } from '../daemon/config.js'
import { loadIdentity } from '../daemon/identity.js'
import { PlayerMemory } from '../daemon/player-memory.js'
import { Logger } from '../daemon/log.js'
import { isWatchmeshError, WatchmeshError } from '../errors.js'
import { deriveRoomKeysAsync } from '../mesh/keys.js'
import { WEAK_BELOW_BITS } from './passphrase.js'
import { estimateBitsInWorker } from './strength.js'
import { readPassphrase } from './passphrase-input.js'
import { readChatLines } from './chat-input.js'
import { MAX_OUTPUT_DELAY_MS } from '../sync/output-delay.js'
import type { Io } from './io.js'

export interface JoinArgs {
  passphrase?: string
  passphraseFile?: string
  outputDelayMs?: number
  operatorFile?: string
  name?: string
  player?: string
  bootstrap?: string
  control?: string
  notify?: boolean
  /** Start mpv on this file and follow it. */
  open?: string
  /** The mpv executable for --open (default: mpv on PATH). */
  mpv?: string
  /** Follow the mpv listening on this IPC path. */
  mpvIpc?: string
  /** Messages about others on the video (mpv over IPC); --no-osd turns them off. */
  osd?: boolean
  verbose: boolean
  quiet: boolean
  logJson: boolean
}

/** Longest display name we accept from the command line (peers bound it again on the wire). */
const NAME_MAX_CHARS = 32

/** Runs the daemon until Ctrl-C (or SIGTERM, or the mpv it started is closed), then leaves the room cleanly. */
export async function runJoin (args: JoinArgs, io: Io): Promise<number> {
  const platform = hostPlatform(io.env)
  // First of all: a SIGTERM while the keys are derived or the DHT is still being looked for must
  // leave cleanly and at once, not kill the process or wait out a DHT lookup that cannot succeed.
  const signalled = new Promise<string>(resolve => {
    for (const signal of stopSignals(platform)) process.once(signal, () => resolve(signal))
  })
  checkPlayerFlags(args)
  const { passphrase, warning } = await readPassphrase({ ...args, input: io.in ?? process.stdin, prompt: io.err })
  const config = await loadConfig(configFile(io.env))
  const name = displayName(args.name ?? config.name)
  const bootstrapArg = args.bootstrap ?? config.bootstrap
  const bootstrap = bootstrapArg === undefined ? undefined : parseBootstrap(bootstrapArg)
  // WATCHMESH_LOG_FILE=<file>: every line at the debug level, with milliseconds, appended there.
  const logPath = io.env.WATCHMESH_LOG_FILE
  const logger = new Logger({
    verbosity: args.verbose ? 'verbose' : args.quiet ? 'quiet' : 'normal',
    json: args.logJson,
    out: io.err,
    debugOut: logPath === undefined || logPath === '' ? undefined : line => { appendFileSync(logPath, line + '\n') }
  })
  if (warning !== null) logger.warn(warning)

  const identity = await loadIdentity(configDir(io.env))
  if (!identity.persistent) logger.warn('another watchmesh daemon of yours is running; this one uses a temporary identity')
  logger.debug(`identity in ${configDir(io.env)} (${identityProtection(platform).how})`)
  const memory = await PlayerMemory.load(configDir(io.env), msg => logger.warn(msg))

  // WATCHMESH_TRACE=<file>: every engine step as JSON lines, for debugging a session.
  const tracePath = io.env.WATCHMESH_TRACE
  const trace = tracePath === undefined || tracePath === '' ? undefined : (line: string) => { appendFileSync(tracePath, line + '\n') }
  const outputDelayMs = outputDelay(args.outputDelayMs ?? config.outputDelayMs)
  const operatorSecret = args.operatorFile === undefined ? undefined : await firstLine(args.operatorFile, '--operator-file')
  const mpv = args.open === undefined ? null : await findMpv(platform, args.mpv)
  if (args.open !== undefined) await checkOpenable(args.open)
  // Once what the user gave has checked out, the slow KDF, on the thread pool: mpv starts, and the
  // mesh and player modules load meanwhile (a restarted daemon is back in its room the sooner).
  // createDaemon awaits it; until then a rejection (a bad passphrase) is only parked.
  const keys = deriveRoomKeysAsync(passphrase)
  keys.catch(() => {})
  let launched: LaunchedMpv | null = null
  let backend: Backend
  if (args.open !== undefined && mpv !== null) {
    const ipcPath = ownMpvIpcPath(platform, process.pid)
    if (platform.platform !== 'win32') await mkdir(runtimeDir(platform), { recursive: true, mode: 0o700 })
    launched = launchMpv({ mpv, file: args.open, ipcPath })
    logger.event(`started mpv on ${args.open} (paused until the room's state is known); following it`, { ipc: ipcPath })
    backend = { kind: 'mpv-ipc', path: ipcPath }
  } else if (args.mpvIpc !== undefined) {
    backend = { kind: 'mpv-ipc', path: args.mpvIpc }
  } else {
    const fallback = defaultBackend(platform)
    backend = fallback.kind === 'mpris' ? { kind: 'mpris', selector: args.player ?? config.player } : fallback
  }
  // Loaded here, not at the top: the mesh's modules load while the KDF runs.
  const { createDaemon } = await import('../daemon/create.js')
  const daemon = await createDaemon({ keys, trace, passphrase, name, bootstrap, backend, seed: identity.seed, notify: args.notify ?? config.notify, osd: args.osd ?? true, outputDelayMs, operatorSecret, memory, logger })
  const managed = daemon.status().managed
  if (managed !== null) logger.event(managed.operator ? 'managed room: you are an operator (only operators control playback)' : 'managed room: the operators control playback; yours follows them')
  if (outputDelayMs > 0) logger.event(`your player runs ${outputDelayMs} ms ahead of the room, for sound that reaches you that late`)
  const gcWatch = new GcWatch()
  gcWatch.start()
  const control = await startControl(daemon, controlPath(io.env, args.control), logger, gcWatch)

  const stopped = new Promise<string>(resolve => {
    void signalled.then(resolve)
    void launched?.exited.then(how => resolve(`mpv was closed: ${how}`))
  })
  try {
    // Stopped (or the mpv we started closed) while the room is still being looked for: what the
    // unfinished start does next is moot.
    const started = daemon.start().then(() => null)
    const early = await Promise.race([started, stopped])
    if (early !== null) started.catch(() => {})
    const stopChat = early === null ? readChatLines(process.stdin, text => daemon.say(text), logger) : () => {}
    if (early === null && process.stdin.isTTY === true) logger.event('type a line and press Enter to say it to the room')
    // Once in the room: the check is advice, and must not slow down finding the room.
    if (early === null) {
      void estimateBitsInWorker(passphrase).then(bits => {
        if (bits !== null && bits < WEAK_BELOW_BITS) {
          logger.warn('this passphrase is easy to guess, and it is the room\'s only secret: anyone who guesses it can join and control playback. `watchmesh passphrase` makes a strong one.')
        }
      })
    }
    const why = early ?? await stopped
    stopChat()
    logger.event(`leaving the room (${why})`)
  } finally {
    await daemon.close()
    // The mpv we started is part of this session: leaving the room closes it too.
    launched?.stop()
    await control?.close()
    gcWatch.stop()
    await identity.release()
  }
  return 0
}

/** The control socket is a convenience: when it cannot be had, the daemon runs on without it. */
async function startControl (daemon: Daemon, path: string, logger: Logger, gcWatch: GcWatch): Promise<ControlServer | null> {
  const server = new ControlServer({
    path,
    handler: req => {
      if (req.cmd === 'status') return { ...daemon.status(), memory: memoryStatus(gcWatch) }
      if (req.cmd === 'say') return { said: daemon.say(req.text ?? '') }
      return { error: `unknown command "${req.cmd}"` }
    }
  })
  try {
    await server.start()
    logger.debug(`control socket at ${path}`)
    return server
  } catch (err) {
    logger.warn(`no control socket (watchmesh status will not see this daemon): ${isWatchmeshError(err) ? err.message : String(err)}`)
    return null
  }
}

/** --open and --mpv-ipc pick the player themselves; --player picks among MPRIS players; --mpv goes with --open. */
function checkPlayerFlags (args: JoinArgs): void {
  if (args.open !== undefined && args.mpvIpc !== undefined) throw WatchmeshError.badUsage('give either --open (watchmesh starts mpv) or --mpv-ipc (an mpv you started), not both')
  if (args.player !== undefined && (args.open !== undefined || args.mpvIpc !== undefined)) {
    throw WatchmeshError.badUsage('--player chooses among MPRIS players; it does not go with --open or --mpv-ipc')
  }
  if (args.mpv !== undefined && args.open === undefined) throw WatchmeshError.badUsage('--mpv says which mpv --open starts; give --open <file> too')
  if (args.open === '' || args.mpvIpc === '') throw WatchmeshError.badUsage(args.open === '' ? '--open needs a file' : '--mpv-ipc needs the path given to mpv\'s --input-ipc-server')
}

async function firstLine (path: string, flag: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n')[0] ?? ''
  } catch (err) {
    throw WatchmeshError.badPassphrase(`cannot read ${flag} ${path}: ${(err as Error).message}`)
  }
}

function outputDelay (ms: number | undefined): number {
  if (ms === undefined) return 0
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_OUTPUT_DELAY_MS) {
    throw WatchmeshError.badUsage(`--output-delay must be a number of milliseconds from 0 to ${MAX_OUTPUT_DELAY_MS} (Bluetooth headphones: 100-300)`)
  }
  return ms
}

function displayName (requested: string | undefined): string {
  const name = (requested ?? defaultName()).trim()
  if (name.length === 0) throw WatchmeshError.badUsage('--name must not be empty')
  if ([...name].length > NAME_MAX_CHARS) throw WatchmeshError.badUsage(`--name is limited to ${NAME_MAX_CHARS} characters`)
  return name
}

function defaultName (): string {
  try {
    return userInfo().username
  } catch {
    return 'viewer'
  }
}
