import { userInfo } from 'node:os'
import { parseBootstrap } from '../mesh/bootstrap.js'
import { createDaemon } from '../daemon/create.js'
import { Logger } from '../daemon/log.js'
import { WatchmeshError } from '../errors.js'
import type { Io } from './io.js'

export interface JoinArgs {
  passphrase: string
  name?: string
  player?: string
  bootstrap?: string
  verbose: boolean
  quiet: boolean
  logJson: boolean
}

/** Longest display name we accept from the command line (peers bound it again on the wire). */
const NAME_MAX_CHARS = 32

/** Runs the daemon until SIGINT/SIGTERM, then leaves the room cleanly. */
export async function runJoin (args: JoinArgs, io: Io): Promise<number> {
  const passphrase = args.passphrase
  if (passphrase.trim().length === 0) throw WatchmeshError.badPassphrase('the passphrase must not be empty')
  const name = displayName(args.name)
  const bootstrap = args.bootstrap === undefined ? undefined : parseBootstrap(args.bootstrap)
  const logger = new Logger({
    verbosity: args.verbose ? 'verbose' : args.quiet ? 'quiet' : 'normal',
    json: args.logJson,
    out: io.err
  })

  const daemon = createDaemon({ passphrase, name, bootstrap, player: args.player, logger })
  const stopped = new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  await daemon.start()
  const signal = await stopped
  logger.event(`leaving the room (${signal})`)
  await daemon.close()
  return 0
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
