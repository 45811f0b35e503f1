import type { Writable } from 'node:stream'

/** Where a command writes; tests hand in their own streams. */
export interface Io {
  out: Writable
  err: Writable
  env: NodeJS.ProcessEnv
  columns?: number
}

export function defaultIo (): Io {
  return { out: process.stdout, err: process.stderr, env: process.env, columns: process.stdout.columns }
}
