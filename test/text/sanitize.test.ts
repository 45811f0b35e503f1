/**
 * Peer-chosen text (names, media names) that tries to drive the terminal: a window title (OSC),
 * a screen clear (CSI), a forged line (newline + fake log prefix), bidi reordering, C1 controls.
 * Whatever the path to output (log lines, status, notifications), none of it survives.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { sanitizeText, MAX_TEXT_CHARS } from '../../src/text/sanitize.js'
import { Logger } from '../../src/daemon/log.js'
import { renderStatus } from '../../src/cli/status.js'
import { escapeMarkup } from '../../src/daemon/notify.js'

const HOSTILE = [
  '\u001b]0;pwned window title\u0007film.mkv', // OSC window title, BEL-terminated
  '\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\', // OSC 8 hyperlink, ST-terminated
  '\u001b[2J\u001b[Hfilm.mkv', // clear screen, cursor home
  'film.mkv\n12:00:00 warning: alice left', // forged line
  'film\u202egnp.exe', // right-to-left override
  '\u009b31mred\u009b0m', // C1 CSI
  '\u001bcreset', // RIS
  'a\u200bb\u2066c\u2069', // zero-width space and isolates
  '\u0090dcs string\u009cok' // C1 DCS ... ST
]

/** Nothing that a terminal would act on: no C0/C1 control, no bidi/format character. */
function assertInert (text: string, what: string): void {
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u, `${what}: ${JSON.stringify(text)}`)
}

describe('sanitizeText', () => {
  it('removes whole escape sequences, controls and bidi characters', () => {
    assert.equal(sanitizeText('\u001b]0;pwned\u0007film.mkv'), 'film.mkv')
    assert.equal(sanitizeText('\u001b[2J\u001b[Hfilm.mkv'), 'film.mkv')
    assert.equal(sanitizeText('  al\u001b[31mice\u202e \n bob '), 'alice bob')
    assert.equal(sanitizeText('film.mkv\n12:00:00 warning: x'), 'film.mkv 12:00:00 warning: x')
    assert.equal(sanitizeText('\u009b31mred\u009b0m'), 'red')
    assert.equal(sanitizeText('\u001bcreset'), 'reset')
    for (const raw of HOSTILE) assertInert(sanitizeText(raw), 'sanitized')
  })

  it('is bounded in characters and bytes and falls back when nothing printable is left', () => {
    assert.equal(Array.from(sanitizeText('é'.repeat(10_000))).length, MAX_TEXT_CHARS)
    assert.ok(new TextEncoder().encode(sanitizeText('é'.repeat(100), { maxBytes: 9 })).byteLength <= 9)
    assert.equal(sanitizeText('\u200b\u0000\u001b[0m', { fallback: 'x' }), 'x')
    assert.equal(sanitizeText('日本語のタイトル.mkv'), '日本語のタイトル.mkv', 'ordinary text is kept')
  })
})

describe('every output path sanitizes', () => {
  it('log lines, text and JSON, carry no escape from a message or a field', () => {
    for (const json of [false, true]) {
      const out = new PassThrough()
      const chunks: string[] = []
      out.on('data', (c: Buffer) => chunks.push(c.toString()))
      const logger = new Logger({ verbosity: 'verbose', json, out })
      for (const raw of HOSTILE) logger.event(`alice switched to ${raw}`, { media: raw })
      const text = chunks.join('')
      // JSON escapes control characters as \uXXXX: parse it back to see what a reader would get.
      const lines = json ? text.trim().split('\n').map(l => { const o = JSON.parse(l) as { msg: string, media: string }; return `${o.msg} ${o.media}` }) : text.trim().split('\n')
      assert.equal(lines.length, HOSTILE.length, 'one line per message: no forged lines')
      for (const line of lines) assertInert(line, `log line (json ${json})`)
    }
  })

  it('status renders peers\' names and media inert', () => {
    const hostile = HOSTILE.join(' ')
    const rendered = renderStatus({
      name: hostile,
      key: 'ab'.repeat(32),
      player: { busName: hostile, identity: hostile },
      peers: [{ name: hostile, key: 'cd'.repeat(32), rttMs: 1, offsetMs: 0, offsetUncertaintyMs: 0.5, clockSynced: true, direct: true }],
      leader: 'cd'.repeat(32),
      leaderName: hostile,
      playback: { playing: true, positionMs: 1000, media: hostile },
      errorMs: 0,
      outputDelayMs: 0,
      clockSynced: true,
      managed: { operator: false }
    })
    for (const line of rendered.split('\n')) assertInert(line, 'status line')
  })

  it('notification bodies show markup as text', () => {
    assert.equal(escapeMarkup('<b>x</b> & <a href="y">'), '&lt;b&gt;x&lt;/b&gt; &amp; &lt;a href="y"&gt;')
  })
})
