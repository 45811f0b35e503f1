/** The daemon's small pure pieces: formatting, config parsing, DHT binding, passphrases. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatTimecode } from '../../src/daemon/format.js'
import { parseConfig } from '../../src/daemon/config.js'
import { dhtHost } from '../../src/daemon/create.js'
import { controlPath, runtimeDir } from '../../src/daemon/paths.js'
import { estimateBits, generatePassphrase, isWeak, WEAK_BELOW_BITS } from '../../src/cli/passphrase.js'
import { estimateBitsInWorker } from '../../src/cli/strength.js'
import { isWatchmeshError } from '../../src/errors.js'

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
