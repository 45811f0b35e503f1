/**
 * Lines typed into an interactive `join` terminal are said to the room. Only when stdin is a
 * terminal: a daemon started by a service manager or with its input piped does not chat.
 */
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { isWatchmeshError } from '../errors.js'
import type { Logger } from '../daemon/log.js'

/** Starts reading lines; returns how to stop. */
export function readChatLines (input: Readable & { isTTY?: boolean }, say: (text: string) => unknown, logger: Logger): () => void {
  if (input.isTTY !== true) return () => {}
  // Not terminal mode: the terminal keeps its own line editing, and Ctrl-C stays a SIGINT.
  const lines = createInterface({ input, terminal: false })
  lines.on('line', line => {
    if (line.trim().length === 0) return
    try {
      say(line)
    } catch (err) {
      logger.warn(`not sent: ${isWatchmeshError(err) ? err.message : String(err)}`)
    }
  })
  return () => lines.close()
}
