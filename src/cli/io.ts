import type { Writable } from 'node:stream'
import type { InputStream } from './passphrase-input.js'

/** Where a command writes; tests hand in their own streams. */
export interface Io {
  /** Standard input (the passphrase prompt, `--passphrase-file -`); process.stdin when absent. */
  in?: InputStream
  out: Writable
  err: Writable
  env: NodeJS.ProcessEnv
  columns?: number
}

export function defaultIo (): Io {
  return { in: process.stdin, out: process.stdout, err: process.stderr, env: process.env, columns: process.stdout.columns }
}
