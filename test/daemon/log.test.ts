import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { Logger } from '../../src/daemon/log.js'

function captured (): { out: PassThrough, text: () => string } {
  const out = new PassThrough()
  const chunks: string[] = []
  out.on('data', (c: Buffer) => chunks.push(c.toString()))
  return { out, text: () => chunks.join('') }
}

test('the debug sink gets every level with fields and milliseconds while the terminal stays as quiet as asked', () => {
  const term = captured()
  const debug: string[] = []
  const at = new Date('2026-12-02T12:00:00.123Z')
  const logger = new Logger({ verbosity: 'quiet', out: term.out, clock: () => at, debugOut: line => debug.push(line) })
  assert.equal(logger.debugShown, true)
  logger.debug('corrected 12.0 ms of drift by seek', { peer: 'ab12' })
  logger.event('bob joined')
  logger.warn('player gone')
  assert.deepEqual(debug, [
    '2026-12-02T12:00:00.123Z debug: corrected 12.0 ms of drift by seek  (peer=ab12)',
    '2026-12-02T12:00:00.123Z bob joined',
    '2026-12-02T12:00:00.123Z warning: player gone'
  ])
  assert.match(term.text(), /^\d\d:\d\d:\d\d warning: player gone\n$/, 'quiet: only the warning on the terminal')
})

test('without a sink, debug lines are composed only for --verbose, and shown without a tag', () => {
  const term = captured()
  const normal = new Logger({ verbosity: 'normal', out: term.out })
  assert.equal(normal.debugShown, false)
  normal.debug('hidden')
  const verbose = new Logger({ verbosity: 'verbose', out: term.out })
  assert.equal(verbose.debugShown, true)
  verbose.debug('shown', { rttMs: 20 })
  assert.match(term.text(), /^\d\d:\d\d:\d\d shown {2}\(rttMs=20\)\n$/)
})
