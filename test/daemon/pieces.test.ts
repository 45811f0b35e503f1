/** The daemon's small pure pieces: formatting, config parsing, DHT binding, passphrases, what is said of a silent player. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatTimecode } from '../../src/daemon/format.js'
import { parseConfig } from '../../src/daemon/config.js'
import { dhtHost } from '../../src/daemon/create.js'
import { controlPath, runtimeDir } from '../../src/daemon/paths.js'
import { estimateBits, generatePassphrase, isWeak, WEAK_BELOW_BITS } from '../../src/cli/passphrase.js'
import { estimateBitsInWorker } from '../../src/cli/strength.js'
import { isWatchmeshError, WatchmeshError } from '../../src/errors.js'
import { PlayerSilence, SILENCE_REMIND_MS } from '../../src/daemon/player-silence.js'

test('timecodes are hh:mm:ss, floored', () => {
  assert.equal(formatTimecode(0), '00:00:00')
  assert.equal(formatTimecode(999), '00:00:00')
  assert.equal(formatTimecode(42_017), '00:00:42')
  assert.equal(formatTimecode(2 * 3600_000 + 42 * 60_000 + 17_500), '02:42:17')
  assert.equal(formatTimecode(-5), '00:00:00')
})

test('config: known keys with the right types pass, anything else names the problem', () => {
  assert.deepEqual(parseConfig({ name: 'alice', player: 'mpv', notify: true }, 'c.json'), { name: 'alice', player: 'mpv', notify: true })
  assert.deepEqual(parseConfig({}, 'c.json'), {})
  for (const [bad, pattern] of [[[], /JSON object/], ['x', /JSON object/], [null, /JSON object/],
    [{ nmae: 'x' }, /unknown setting "nmae"/], [{ name: 3 }, /"name" must be a string/], [{ notify: 'yes' }, /"notify" must be a boolean/]] as const) {
    assert.throws(() => parseConfig(bad, 'c.json'), (err: unknown) => isWatchmeshError(err, 'CONFIG_INVALID') && pattern.test(err.message))
  }
})

test('the DHT binds to loopback only when every bootstrap node is local', () => {
  assert.equal(dhtHost(undefined), undefined)
  assert.equal(dhtHost([{ host: '127.0.0.1' }, { host: 'localhost' }]), '127.0.0.1')
  assert.equal(dhtHost([{ host: '127.0.0.1' }, { host: '192.0.2.7' }]), undefined)
})

test('control socket path: explicit flag, then environment, then the runtime dir', () => {
  assert.equal(controlPath({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/watchmesh/control.sock')
  assert.equal(controlPath({ XDG_RUNTIME_DIR: '/run/user/7', WATCHMESH_CONTROL: '/tmp/a.sock' }), '/tmp/a.sock')
  assert.equal(controlPath({ WATCHMESH_CONTROL: '/tmp/a.sock' }, '/tmp/b.sock'), '/tmp/b.sock')
  assert.match(runtimeDir({}), /watchmesh-\d+$/)
})

test('generated passphrases are pronounceable, distinct and judged strong', async () => {
  const seen = new Set<string>()
  for (let i = 0; i < 50; i++) {
    const p = generatePassphrase()
    assert.match(p, /^([bdfgklmnprstvz][aeiou]){3}(-([bdfgklmnprstvz][aeiou]){3}){4}$/)
    assert.equal(await isWeak(p), false, `${p} judged weak`)
    seen.add(p)
  }
  assert.equal(seen.size, 50)
})

test('easy passphrases are judged weak', async () => {
  // The last three were "fine" to the home-made rules (93, 72 and 62 bits).
  for (const weak of ['movie night', 'password', 'hunter2', 'friday movie night 2024', 'abc', 'password1password1', 'Password123456', 'qwertyuiopasdfghjklzxcvbnm']) {
    assert.equal(await isWeak(weak), true, `${weak} (${(await estimateBits(weak)).toFixed(0)} bits) should be weak`)
  }
  assert.ok((await estimateBits('correct horse battery staple zebra quantum')) > (await estimateBits('movie night')))
  assert.ok(((await estimateBitsInWorker('movie night')) ?? Infinity) < WEAK_BELOW_BITS, 'the worker (as join runs it) says the same')
})

test('a player that stops answering is told once, again every SILENCE_REMIND_MS while it stays silent, and once when it answers', () => {
  const silence = new PlayerSilence('mpv')
  const timeout = new WatchmeshError('PLAYER_NOT_ANSWERING', 'reading on org.mpris.MediaPlayer2.mpv failed: GetAll on :1.1: no reply within 2000 ms')
  assert.equal(silence.answered(0), null, 'nothing to say while it answers')
  assert.deepEqual(silence.failed(1000, timeout, 'trying again every 1 s'),
    { level: 'warn', msg: 'player mpv is not answering (reading on org.mpris.MediaPlayer2.mpv failed: GetAll on :1.1: no reply within 2000 ms); trying again every 1 s' })
  assert.equal(silence.silent, true)
  assert.equal(silence.failed(2000, timeout, 'trying again every 1 s').level, 'debug', 'not a warning per failed read')
  assert.equal(silence.failed(1000 + SILENCE_REMIND_MS - 1, timeout, 'x').level, 'debug')
  assert.deepEqual(silence.failed(1000 + SILENCE_REMIND_MS, timeout, 'trying again every 1 s'),
    { level: 'warn', msg: `player mpv has not answered for ${SILENCE_REMIND_MS / 1000} s (reading on org.mpris.MediaPlayer2.mpv failed: GetAll on :1.1: no reply within 2000 ms); trying again every 1 s` })
  assert.deepEqual(silence.answered(1000 + SILENCE_REMIND_MS + 4200), { level: 'event', msg: `player mpv answers again (after ${(SILENCE_REMIND_MS / 1000 + 4.2).toFixed(1)} s)` })
  assert.equal(silence.silent, false)
  assert.equal(silence.answered(40_000), null, 'said once')
  assert.equal(silence.failed(50_000, new Error('boom'), 'y').level, 'warn', 'a new silence is told afresh')
})
