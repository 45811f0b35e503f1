/**
 * Where the passphrase comes from, most private first: a file (`--passphrase-file`, `-` for
 * standard input), a prompt without echo when nothing was given and the terminal is interactive,
 * or the command line (still accepted, with a warning: other local users see it in `ps`).
 */
import { readFile } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { WatchmeshError } from '../errors.js'

/** A passphrase is a line, not a document (the KDF bounds it again, in bytes). */
const MAX_PASSPHRASE_INPUT_CHARS = 4096

/** What a terminal stream may offer: the prompt needs raw mode to keep the typing off the screen. */
export type InputStream = Readable & { isTTY?: boolean, setRawMode?: (raw: boolean) => unknown }

export interface PassphraseSources {
  passphrase?: string
  passphraseFile?: string
  input: InputStream
  /** Where the prompt goes (stderr: stdout may be piped). */
  prompt: Writable
}

export const ARGUMENT_WARNING = 'the passphrase was given on the command line, where other users of this machine can read it (ps, /proc). Next time leave it out to be asked for it, or use --passphrase-file.'

export async function readPassphrase (src: PassphraseSources): Promise<{ passphrase: string, warning: string | null }> {
  if (src.passphrase !== undefined && src.passphraseFile !== undefined) {
    throw WatchmeshError.badUsage('give the passphrase either as an argument or with --passphrase-file, not both')
  }
  let passphrase: string
  let warning: string | null = null
  if (src.passphraseFile === '-') {
    passphrase = await firstLine(src.input)
  } else if (src.passphraseFile !== undefined) {
    try {
      passphrase = (await readFile(src.passphraseFile, 'utf8')).split('\n')[0] ?? ''
    } catch (err) {
      throw WatchmeshError.badPassphrase(`cannot read --passphrase-file ${src.passphraseFile}: ${(err as Error).message}`)
    }
  } else if (src.passphrase !== undefined) {
    passphrase = src.passphrase
    warning = ARGUMENT_WARNING
  } else if (src.input.isTTY === true && typeof src.input.setRawMode === 'function') {
    passphrase = await askHidden(src.input, src.prompt, 'passphrase of the room: ')
  } else {
    throw WatchmeshError.badUsage('which room? give its passphrase: watchmesh join (asks for it), --passphrase-file FILE, or --passphrase-file - (standard input)')
  }
  passphrase = passphrase.replace(/\r$/, '')
  if (passphrase.trim().length === 0) throw WatchmeshError.badPassphrase('the passphrase must not be empty')
  return { passphrase, warning }
}

/** The first line of a stream (standard input), bounded; the rest is left unread. */
async function firstLine (input: Readable): Promise<string> {
  let text = ''
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')
    const end = text.indexOf('\n')
    if (end !== -1) return text.slice(0, end)
    if (text.length > MAX_PASSPHRASE_INPUT_CHARS) throw WatchmeshError.badPassphrase(`the passphrase on standard input is longer than ${MAX_PASSPHRASE_INPUT_CHARS} characters`)
  }
  return text
}

/** Reads a line with echo off (raw mode): nothing typed appears on the screen. Ctrl-C cancels. */
export function askHidden (input: InputStream, output: Writable, question: string): Promise<string> {
  output.write(question)
  input.setRawMode?.(true)
  input.resume()
  return new Promise((resolve, reject) => {
    let typed = ''
    const done = (err: Error | null): void => {
      input.removeListener('data', onData)
      input.setRawMode?.(false)
      input.pause()
      output.write('\n')
      if (err !== null) reject(err)
      else resolve(typed)
    }
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null)
        if (ch === '\u0003' || ch === '\u0004') return done(WatchmeshError.badUsage('cancelled: no passphrase given'))
        if (ch === '\u007f' || ch === '\b') typed = Array.from(typed).slice(0, -1).join('')
        else if (typed.length < MAX_PASSPHRASE_INPUT_CHARS) typed += ch
      }
    }
    input.on('data', onData)
  })
}
