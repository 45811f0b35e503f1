/** The mesh's small pure parts: bootstrap parsing, names, rate limiting, dedup memory, backoff. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parseBootstrap, formatBootstrap, onPrivateNetwork } from '../../src/mesh/bootstrap.js'
import { sanitizeName, MAX_NAME_CHARS } from '../../src/mesh/names.js'
import { sanitizeText } from '../../src/text/sanitize.js'
import { TokenBucket } from '../../src/mesh/rate-limit.js'
import { SeenSet } from '../../src/mesh/seen.js'
import { BROADCAST_WINDOW, SeenBroadcasts, TOO_OLD } from '../../src/mesh/seen-broadcasts.js'
import { reconnectDelayMs, wokeFromSuspend } from '../../src/mesh/backoff.js'
import { UnprovenConnections } from '../../src/mesh/unproven.js'
import { isWatchmeshError } from '../../src/errors.js'

describe('parseBootstrap', () => {
  it('parses host:port lists', () => {
    const nodes = parseBootstrap('127.0.0.1:49737, example.org:1,[::1]:65535')
    assert.deepEqual(nodes, [{ host: '127.0.0.1', port: 49737 }, { host: 'example.org', port: 1 }, { host: '::1', port: 65535 }])
    assert.equal(formatBootstrap(nodes.slice(0, 2)), '127.0.0.1:49737,example.org:1')
  })

  it('rejects bad entries with BAD_BOOTSTRAP', () => {
    for (const bad of ['', ',', 'localhost', ':80', 'host:', 'host:0', 'host:65536', 'host:12a', 'ho st:80', 'a:1,b']) {
      assert.throws(() => parseBootstrap(bad), (err: unknown) => isWatchmeshError(err, 'BAD_BOOTSTRAP'), bad)
    }
  })
})

describe('onPrivateNetwork', () => {
  it('is true only when every bootstrap node is at a loopback, private or link-local address', () => {
    for (const host of ['10.77.0.2', '192.168.1.5', '172.16.0.1', '172.31.255.1', '127.0.0.1', '169.254.3.4', '100.64.0.1', '::1', 'fd12:3456::1', 'fe80::1']) {
      assert.equal(onPrivateNetwork([{ host, port: 1 }]), true, host)
    }
    for (const host of ['192.0.2.7', '172.32.0.1', '100.128.0.1', '8.8.8.8', '2001:db8::1', 'example.org', 'box.local']) {
      assert.equal(onPrivateNetwork([{ host, port: 1 }]), false, host)
    }
    assert.equal(onPrivateNetwork([{ host: '10.0.0.1', port: 1 }, { host: '192.0.2.7', port: 1 }]), false, 'one public node: the public rules')
    assert.equal(onPrivateNetwork([]), false)
  })
})

describe('sanitizeName', () => {
  it('strips control and bidi characters and bounds the length', () => {
    assert.equal(sanitizeName('  al\u001b[31mice\u202e \n bob ', 'x'), 'alice bob')
    assert.equal(Array.from(sanitizeName('é'.repeat(100), 'x')).length <= MAX_NAME_CHARS, true)
    assert.equal(sanitizeName('\u200b\u0000', 'fallback'), 'fallback')
  })
})

describe('sanitizeText', () => {
  it('makes peer text one safe line (what goes to the terminal and the video) and cuts it with an ellipsis', () => {
    assert.equal(sanitizeText('bob paused at 00:42:17', { maxChars: 120, ellipsis: true }), 'bob paused at 00:42:17')
    assert.equal(sanitizeText('ev\u202eil\u0007 file\r\nname.mkv\u2028x', { maxChars: 120, ellipsis: true }), 'evil file name.mkv x')
    const cut = sanitizeText('x'.repeat(500), { maxChars: 120, ellipsis: true })
    assert.equal(Array.from(cut).length, 120)
    assert.ok(cut.endsWith('…'))
  })
})

describe('TokenBucket', () => {
  it('allows the burst, then the sustained rate, and refills with time', () => {
    const bucket = new TokenBucket(10, 3)
    assert.deepEqual([0, 0, 0, 0].map(() => bucket.take(0)), [true, true, true, false])
    assert.equal(bucket.take(50), false, 'half a token after 50 ms')
    assert.equal(bucket.take(100), true, 'one token after 100 ms')
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.take(10_000)), [true, true, true, false], 'never more than the burst')
  })
})

describe('SeenSet', () => {
  it('remembers at most its capacity, forgetting the oldest', () => {
    const seen = new SeenSet(3)
    for (const id of ['a', 'b', 'c', 'd']) seen.add(id)
    assert.equal(seen.size, 3)
    assert.equal(seen.has('a'), false)
    assert.equal(seen.has('d'), true)
  })
})

describe('SeenBroadcasts', () => {
  it('tells a copy, an altered copy and a new one apart, also out of order within the window', () => {
    const seen = new SeenBroadcasts(8)
    seen.add('a:1', 10, 'd10')
    seen.add('a:1', 12, 'd12')
    assert.equal(seen.tag('a:1', 10), 'd10')
    assert.equal(seen.tag('a:1', 11), undefined, 'not seen yet (reordered): to be delivered')
    assert.equal(seen.tag('a:1', 13), undefined)
    assert.equal(seen.tag('b:1', 10), undefined, 'another author session')
    seen.add('a:1', 11, 'd11')
    assert.equal(seen.tag('a:1', 11), 'd11')
  })

  it('takes a broadcast further behind than the window as seen', () => {
    const seen = new SeenBroadcasts(8)
    seen.add('a:1', 0, 'd0')
    seen.add('a:1', BROADCAST_WINDOW, 'dw')
    assert.equal(seen.tag('a:1', 0), TOO_OLD)
    assert.equal(seen.tag('a:1', 1), undefined)
  })

  it('stays the same size over an evening of broadcasts: the window per author session', () => {
    const seen = new SeenBroadcasts(8)
    // Three authors at 2 broadcasts a second for 5 hours.
    for (let seq = 0; seq < 2 * 5 * 3600; seq++) {
      for (const author of ['a:1', 'b:1', 'c:1']) seen.add(author, seq, `digest of ${author} ${seq}`)
    }
    assert.equal(seen.sessionCount, 3)
    assert.equal(seen.size, 3 * BROADCAST_WINDOW)
  })

  it('remembers at most maxSessions author sessions, forgetting the least recently heard', () => {
    const seen = new SeenBroadcasts(2)
    seen.add('a:1', 0, 'a')
    seen.add('b:1', 0, 'b')
    seen.add('a:1', 1, 'a1')
    seen.add('c:1', 0, 'c')
    assert.equal(seen.sessionCount, 2)
    assert.equal(seen.tag('b:1', 0), undefined, 'b was the least recently heard')
    assert.equal(seen.tag('a:1', 1), 'a1')
    assert.equal(seen.tag('c:1', 0), 'c')
  })
})

describe('reconnectDelayMs', () => {
  it('doubles from 1 s to a 30 s cap, within the jitter band', () => {
    const low = [0, 1, 2, 3, 4, 5, 6, 20].map(a => reconnectDelayMs(a, () => 0))
    const high = [0, 1, 2, 3, 4, 5, 6, 20].map(a => reconnectDelayMs(a, () => 0.999999))
    assert.deepEqual(low, [750, 1500, 3000, 6000, 12000, 22500, 22500, 22500])
    assert.deepEqual(high, [1250, 2500, 5000, 10000, 20000, 37500, 37500, 37500])
    assert.equal(reconnectDelayMs(0, () => 0.5), 1000)
  })
})

describe('wokeFromSuspend', () => {
  it('is a gap of the 1 s timer longer than the peers\' 3 s dead-peer timeout, not a late tick', () => {
    assert.equal(wokeFromSuspend(0, 1000, 1000, 3000), false)
    assert.equal(wokeFromSuspend(0, 3900, 1000, 3000), false, 'a tick late under load: the peers still hear us')
    assert.equal(wokeFromSuspend(0, 4100, 1000, 3000), true)
    assert.equal(wokeFromSuspend(10_000, 28_700, 1000, 3000), true, 'frozen 18.7 s')
  })
})

describe('UnprovenConnections', () => {
  it('evicts the oldest, from the same address when that address is at its bound', () => {
    const set = new UnprovenConnections<string>(4, 2)
    assert.deepEqual(set.add('a1', 'A', 0), [])
    assert.deepEqual(set.add('b1', 'B', 1), [])
    assert.deepEqual(set.add('a2', 'A', 2), [])
    assert.deepEqual(set.add('a3', 'A', 3), ['a1'], 'address A at its bound of 2')
    assert.deepEqual(set.add('c1', 'C', 4), [])
    assert.deepEqual(set.add('d1', 'D', 5), ['b1'], 'the total bound of 4: the oldest anywhere')
  })

  it('a connection that sent its PAKE share goes after those that sent nothing', () => {
    const set = new UnprovenConnections<string>(4, 3)
    set.add('friend', 'L', 0)
    set.progressed('friend')
    set.add('flood1', 'L', 1)
    set.add('flood2', 'L', 2)
    assert.deepEqual(set.add('flood3', 'L', 3), ['flood1'], 'the friend is older but halfway through the PAKE')
    assert.deepEqual(set.add('flood4', 'L', 4), ['flood2'])
    assert.ok(set.has('friend'))
    set.progressed('flood3')
    set.progressed('flood4')
    assert.deepEqual(set.add('flood5', 'L', 5), ['friend'], 'among connections that all sent shares, the oldest')
  })
})
