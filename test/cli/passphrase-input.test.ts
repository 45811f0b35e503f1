/**
 * The passphrase stays out of `ps`: asked for without echo on a terminal, read from standard
 * input with `--passphrase-file -`, and a warning when it is given as an argument anyway.
 */
import { test } from 'node:test'
import { main } from '../../src/cli/main.js'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { ARGUMENT_WARNING, readPassphrase } from '../../src/cli/passphrase-input.js'
import type { InputStream } from '../../src/cli/passphrase-input.js'
import { isWatchmeshError } from '../../src/errors.js'

/** A pretend terminal: records raw mode, as a real TTY's setRawMode turns echo off. */
function terminal (): { input: PassThrough & InputStream, rawModes: boolean[] } {
  const input = new PassThrough() as PassThrough & InputStream
  const rawModes: boolean[] = []
  input.isTTY = true
  input.setRawMode = (raw: boolean) => { rawModes.push(raw); return input }
  return { input, rawModes }
}

function sink (): { stream: PassThrough, text: () => string } {
  const stream = new PassThrough()
  const chunks: string[] = []
  stream.on('data', (c: Buffer) => chunks.push(c.toString()))
  return { stream, text: () => chunks.join('') }
}

test('no passphrase on an interactive terminal: asked for with echo off, never printed', async () => {
  const { input, rawModes } = terminal()
  const prompt = sink()
  const reading = readPassphrase({ input, prompt: prompt.stream })
  input.write('secret room x\u007fX\r')
  const { passphrase, warning } = await reading
  assert.equal(passphrase, 'secret room X', 'backspace edits what was typed')
  assert.equal(warning, null)
  assert.deepEqual(rawModes, [true, false], 'raw mode (no echo) while typing, restored after')
  assert.ok(!prompt.text().includes('secret'), `nothing typed was echoed: ${JSON.stringify(prompt.text())}`)
})

test('Ctrl-C at the prompt cancels with a usage error', async () => {
  const { input } = terminal()
  const reading = readPassphrase({ input, prompt: sink().stream })
  input.write('abc\u0003')
  await assert.rejects(reading, (err: unknown) => isWatchmeshError(err, 'BAD_USAGE'))
})

test('--passphrase-file - reads the first line of standard input', async () => {
  const input = new PassThrough()
  input.end('movie night over stdin\r\nsecond line\n')
  const { passphrase, warning } = await readPassphrase({ passphraseFile: '-', input, prompt: sink().stream })
  assert.equal(passphrase, 'movie night over stdin')
  assert.equal(warning, null)
})

test('a passphrase argument still works, with a warning; no passphrase and no terminal is a usage error', async () => {
  const { passphrase, warning } = await readPassphrase({ passphrase: 'movie night', input: new PassThrough(), prompt: sink().stream })
  assert.equal(passphrase, 'movie night')
  assert.equal(warning, ARGUMENT_WARNING)
  assert.match(warning, /ps/)
  await assert.rejects(readPassphrase({ input: new PassThrough(), prompt: sink().stream }), (err: unknown) => isWatchmeshError(err, 'BAD_USAGE'))
})

test('the command line\'s `--passphrase-file -` (a lone dash, as the help writes it) reads standard input', async () => {
  const input = new PassThrough()
  input.end('movie night over stdin\n')
  const err = new PassThrough()
  let said = ''
  err.setEncoding('utf8').on('data', (c: string) => { said += c })
  // Past the passphrase, the missing mpv is the first thing that fails: proof the passphrase was taken.
  const code = await main(['join', '--passphrase-file', '-', '--open', '/nonexistent/film.mkv', '--mpv', '/nonexistent/mpv', '--bootstrap', '127.0.0.1:9'],
    { in: input, out: new PassThrough(), err, env: process.env })
  assert.doesNotMatch(said, /either as an argument or with --passphrase-file/)
  assert.match(said, /--mpv \/nonexistent\/mpv: no such executable/)
  assert.equal(code, 1)
})
