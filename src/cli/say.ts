import { request } from '../daemon/control.js'
import { controlPath } from '../daemon/paths.js'
import { MAX_CHAT_CHARS } from '../daemon/chat.js'
import { WatchmeshError } from '../errors.js'
import type { ErrorCode } from '../errors.js'
import type { Io } from './io.js'

export interface SayArgs {
  text: string
  control?: string
}

/** Asks the running daemon (over its control socket) to say a line to the room. */
export async function runSay (args: SayArgs, io: Io): Promise<number> {
  // Checked here too: a long text would not even fit the control socket's one-line request.
  if (Array.from(args.text.trim()).length > MAX_CHAT_CHARS) throw WatchmeshError.badUsage(`too long: a message has at most ${MAX_CHAT_CHARS} characters`)
  const path = controlPath(io.env, args.control)
  const reply = await request(path, 'say', args.text) as { said?: unknown, error?: unknown, code?: unknown }
  if (typeof reply?.error === 'string') {
    const code: ErrorCode = reply.code === 'BAD_USAGE' || reply.code === 'RATE_LIMITED' ? reply.code : 'CONTROL_UNAVAILABLE'
    throw new WatchmeshError(code, reply.error)
  }
  if (typeof reply?.said !== 'string') throw new WatchmeshError('CONTROL_UNAVAILABLE', `the daemon on ${path} answered something else than a chat receipt`)
  return 0
}
