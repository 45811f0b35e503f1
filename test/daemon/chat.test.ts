/** Chat lines and the scrubbing narrator: pure parts, in simulated time. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CHAT_BURST, CHAT_LINES_PER_SEC, ChatRate, MAX_CHAT_CHARS, cleanChat } from '../../src/daemon/chat.js'
import { SEEK_BURST_QUIET_MS, SeekBursts } from '../../src/daemon/seek-bursts.js'
import { isWatchmeshError, WatchmeshError } from '../../src/errors.js'
import { describeAction } from '../../src/daemon/daemon.js'

test('a chat line is one clean line: escapes, controls, bidi overrides and line breaks cannot reach a terminal', () => {
  assert.equal(cleanChat('back\u001b[2J in\n5\u202e\u0007'), 'back in 5')
  assert.equal(cleanChat('\u001b]0;owned\u0007hi'), 'hi')
  assert.equal(cleanChat('\u200b\u0000 '), '')
  assert.equal(Array.from(cleanChat('é'.repeat(500))).length, MAX_CHAT_CHARS)
})

test('saying: empty or over-long lines are refused as usage errors, a flood as RATE_LIMITED', () => {
  const rate = new ChatRate()
  assert.throws(() => rate.outgoing(' \u0007 ', 0), (err: unknown) => isWatchmeshError(err, 'BAD_USAGE'))
  assert.throws(() => rate.outgoing('x'.repeat(MAX_CHAT_CHARS + 1), 0), (err: unknown) => isWatchmeshError(err, 'BAD_USAGE'))
  for (let i = 0; i < CHAT_BURST; i++) assert.equal(rate.outgoing(`line ${i}`, 0), `line ${i}`)
  assert.throws(() => rate.outgoing('one too many', 0), (err: unknown) => isWatchmeshError(err, 'RATE_LIMITED'))
  assert.equal(rate.outgoing('later', 1000 / CHAT_LINES_PER_SEC), 'later')
})

test('hearing: an honest sender is never dropped; a flooding author is, per author', () => {
  const sender = new ChatRate()
  const receiver = new ChatRate()
  let shown = 0
  for (let t = 0; t < 60_000; t += 100) {
    let text: string
    try {
      text = sender.outgoing('hello', t)
    } catch {
      continue
    }
    // Delivered with jitter: up to 300 ms late, never early.
    if (receiver.incoming('alice', text, t + (t % 7) * 50) !== null) shown++
    else assert.fail(`an honest line sent at ${t} ms was dropped`)
  }
  assert.ok(shown > CHAT_BURST)

  let flooded = 0
  for (let i = 0; i < 1000; i++) if (receiver.incoming('mallory', 'spam', 100_000) !== null) flooded++
  assert.ok(flooded <= CHAT_BURST + 2, `${flooded} of 1000 flood lines shown`)
  assert.equal(receiver.incoming('bob', '\u001b[31mhi', 100_000), 'hi', 'another author is not held back by the flood')
  assert.equal(receiver.incoming('carol', '\u0007', 100_000), null, 'nothing printable: nothing shown')
})

test('scrubbing: a burst of seeks by one person settles into one line with where it ended', () => {
  const bursts = new SeekBursts()
  for (let i = 0; i < 12; i++) bursts.seek('alice', 10_000 + i * 5000, i * 80)
  bursts.seek('bob', 3000, 880)
  assert.deepEqual(bursts.settled(880 + SEEK_BURST_QUIET_MS - 1), [], 'alice is still scrubbing')
  assert.equal(bursts.nextDueMs(), 880 + SEEK_BURST_QUIET_MS)
  assert.deepEqual(bursts.settled(880 + SEEK_BURST_QUIET_MS), [{ who: 'alice', positionMs: 65_000, count: 12 }, { who: 'bob', positionMs: 3000, count: 1 }])
  assert.equal(bursts.nextDueMs(), null)
  bursts.seek('alice', 1000, 5000)
  assert.deepEqual(bursts.flush('alice'), { who: 'alice', positionMs: 1000, count: 1 }, 'a pause after a seek tells the seek first')
  assert.equal(bursts.flush('alice'), null)
})

test('an interactive join terminal: each typed line is said; errors are warned, not fatal; piped input says nothing', async () => {
  const { PassThrough, Writable } = await import('node:stream')
  const { readChatLines } = await import('../../src/cli/chat-input.js')
  const { Logger } = await import('../../src/daemon/log.js')
  let printed = ''
  const logger = new Logger({ out: new Writable({ write (chunk, _enc, done) { printed += String(chunk); done() } }) })
  const said: string[] = []
  const say = (text: string): string => {
    if (text === 'too much') throw new WatchmeshError('RATE_LIMITED', 'slow down')
    said.push(text)
    return text
  }
  const tty = Object.assign(new PassThrough(), { isTTY: true })
  const stop = readChatLines(tty, say, logger)
  tty.write('back in 5\n\n   \ntoo much\nok\n')
  await new Promise(resolve => setImmediate(resolve))
  stop()
  assert.deepEqual(said, ['back in 5', 'ok'])
  assert.match(printed, /not sent: slow down/)

  const piped = new PassThrough()
  readChatLines(piped, say, logger)()
  piped.write('not a chat\n')
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(said, ['back in 5', 'ok'])
})

test('a speed change is narrated with the speed, to the others by name and to its author as you', () => {
  assert.equal(describeAction('alice', 'rate', 61_000, null, 1.25), 'alice set the speed to 1.25x')
  assert.equal(describeAction('you', 'rate', 61_000, null, 1.2500000001), 'you set the speed to 1.25x')
  assert.equal(describeAction('bob', 'rate', 61_000, null, 2), 'bob set the speed to 2x')
  assert.equal(describeAction('bob', 'rate', 61_000, null, null), 'bob changed the speed')
})

test('a seek is told to the nearest second, as a seek bar lands (VLC\'s is published 80 ms short of its target); a pause at the second it shows', () => {
  assert.equal(describeAction('carol', 'seek', 59_920, null, 1), 'carol jumped to 00:01:00')
  assert.equal(describeAction('bob', 'seek', 30_033, null, 1), 'bob jumped to 00:00:30')
  assert.equal(describeAction('bob', 'pause', 59_920, null, 1), 'bob paused at 00:00:59')
})
