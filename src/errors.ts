/**
 * One error class for everything watchmesh reports on purpose. Callers branch on `code`,
 * never on the message text (the message is for people).
 */
export type ErrorCode =
  | 'BAD_USAGE'
  | 'BAD_PASSPHRASE'
  | 'BAD_BOOTSTRAP'
  | 'NO_PLAYER'
  | 'PLAYER_GONE'
  | 'PLAYER_COMMAND_FAILED'
  /**
   * The player gave no answer within the call's deadline: it may be frozen or busy, and the call
   * may still be carried out later. Not a refusal (PLAYER_COMMAND_FAILED).
   */
  | 'PLAYER_NOT_ANSWERING'
  | 'BAD_MESSAGE'
  | 'PROTOCOL_VERSION'
  | 'CONTROL_UNAVAILABLE'
  /** A user asked for more than a rate allows (chat lines). */
  | 'RATE_LIMITED'
  | 'CONFIG_INVALID'

export class WatchmeshError extends Error {
  readonly code: ErrorCode

  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WatchmeshError'
    this.code = code
  }

  static badUsage (message: string): WatchmeshError {
    return new WatchmeshError('BAD_USAGE', message)
  }

  static badPassphrase (message: string): WatchmeshError {
    return new WatchmeshError('BAD_PASSPHRASE', message)
  }

  static badBootstrap (value: string): WatchmeshError {
    return new WatchmeshError('BAD_BOOTSTRAP', `invalid bootstrap address "${value}": expected host:port`)
  }

  static noPlayer (message: string): WatchmeshError {
    return new WatchmeshError('NO_PLAYER', message)
  }

  static playerGone (name: string): WatchmeshError {
    return new WatchmeshError('PLAYER_GONE', `player ${name} went away`)
  }

  static badMessage (message: string): WatchmeshError {
    return new WatchmeshError('BAD_MESSAGE', message)
  }
}

export function isWatchmeshError (err: unknown, code?: ErrorCode): err is WatchmeshError {
  return err instanceof WatchmeshError && (code === undefined || err.code === code)
}
