import { appendFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { parseBootstrap } from '../mesh/bootstrap.js'
import { createDaemon } from '../daemon/create.js'
import { ControlServer } from '../daemon/control.js'
import { configDir, controlPath } from '../daemon/paths.js'
import { configFile, loadConfig } from '../daemon/config.js'
import { loadIdentity } from '../daemon/identity.js'
import { Logger } from '../daemon/log.js'
import { isWatchmeshError, WatchmeshError } from '../errors.js'
import { WEAK_BELOW_BITS } from './passphrase.js'
import { estimateBitsInWorker } from './strength.js'
import { readPassphrase } from './passphrase-input.js'
import type { Io } from './io.js'

export interface JoinArgs {
  passphrase?: string
  passphraseFile?: string
  name?: string
  player?: string
  bootstrap?: string
  control?: string
  notify?: boolean
  verbose: boolean
  quiet: boolean
  logJson: boolean
}

/** Longest display name we accept from the command line (peers bound it again on the wire). */
const NAME_MAX_CHARS = 32

/** Runs the daemon until SIGINT/SIGTERM, then leaves the room cleanly. */
export async function runJoin (args: JoinArgs, io: Io): Promise<number> {
  const { passphrase, warning } = await readPassphrase({ ...args, input: io.in ?? process.stdin, prompt: io.err })
  const config = await loadConfig(configFile(io.env))
  const name = displayName(args.name ?? config.name)
  const bootstrapArg = args.bootstrap ?? config.bootstrap
  const bootstrap = bootstrapArg === undefined ? undefined : parseBootstrap(bootstrapArg)
  const logger = new Logger({
    verbosity: args.verbose ? 'verbose' : args.quiet ? 'quiet' : 'normal',
    json: args.logJson,
    out: io.err
  })
  if (warning !== null) logger.warn(warning)

  const identity = await loadIdentity(configDir(io.env))
  if (!identity.persistent) logger.warn('another watchmesh daemon of yours is running; this one uses a temporary identity')

  // WATCHMESH_TRACE=<file>: every engine step as JSON lines, for debugging a session.
  const tracePath = io.env.WATCHMESH_TRACE
  const trace = tracePath === undefined || tracePath === '' ? undefined : (line: string) => { appendFileSync(tracePath, line + '\n') }
  const daemon = createDaemon({ trace, passphrase, name, bootstrap, player: args.player ?? config.player, seed: identity.seed, notify: args.notify ?? config.notify, logger })
  const control = await startControl(daemon, controlPath(io.env, args.control), logger)

  const stopped = new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  try {
    await daemon.start()
    // Once in the room: the check is advice, and must not slow down finding the room.
    void estimateBitsInWorker(passphrase).then(bits => {
      if (bits !== null && bits < WEAK_BELOW_BITS) {
        logger.warn('this passphrase is easy to guess, and it is the room\'s only secret: anyone who guesses it can join and control playback. `watchmesh passphrase` makes a strong one.')
      }
    })
    const signal = await stopped
    logger.event(`leaving the room (${signal})`)
  } finally {
    await daemon.close()
    await control?.close()
    await identity.release()
  }
  return 0
}

/** The control socket is a convenience: when it cannot be had, the daemon runs on without it. */
async function startControl (daemon: ReturnType<typeof createDaemon>, path: string, logger: Logger): Promise<ControlServer | null> {
  const server = new ControlServer({
    path,
    handler: req => {
      if (req.cmd === 'status') return daemon.status()
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
