import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareStamps, isNewer, LamportClock, MAX_LAMPORT, stampKey } from '../../src/sync/lamport.js'

test('stamps order by counter, then by node id', () => {
  assert.ok(compareStamps({ lamport: 1, nodeId: 'ff' }, { lamport: 2, nodeId: '00' }) < 0)
  assert.ok(compareStamps({ lamport: 3, nodeId: 'aa' }, { lamport: 3, nodeId: 'ab' }) < 0)
  assert.ok(compareStamps({ lamport: 3, nodeId: 'ab' }, { lamport: 3, nodeId: 'aa' }) > 0)
  assert.equal(compareStamps({ lamport: 3, nodeId: 'aa' }, { lamport: 3, nodeId: 'aa' }), 0)
})

test('sorting any permutation gives the same total order', () => {
  const stamps = [
    { lamport: 2, nodeId: 'b' }, { lamport: 1, nodeId: 'c' }, { lamport: 2, nodeId: 'a' },
    { lamport: 1, nodeId: 'a' }, { lamport: 3, nodeId: 'a' }
  ]
  const expected = ['1:a', '1:c', '2:a', '2:b', '3:a']
  for (let i = 0; i < stamps.length; i++) {
    const rotated = [...stamps.slice(i), ...stamps.slice(0, i)]
    assert.deepEqual(rotated.sort(compareStamps).map(stampKey), expected)
    assert.deepEqual(rotated.reverse().sort(compareStamps).map(stampKey), expected)
  }
})

test('isNewer: anything beats nothing, equal is not newer', () => {
  assert.equal(isNewer({ lamport: 0, nodeId: 'a' }, null), true)
  assert.equal(isNewer({ lamport: 1, nodeId: 'a' }, { lamport: 1, nodeId: 'a' }), false)
  assert.equal(isNewer({ lamport: 1, nodeId: 'b' }, { lamport: 1, nodeId: 'a' }), true)
})

test('the clock issues one past everything seen', () => {
  const clock = new LamportClock()
  assert.deepEqual(clock.next('me'), { lamport: 1, nodeId: 'me' })
  clock.observe(41)
  assert.deepEqual(clock.next('me'), { lamport: 42, nodeId: 'me' })
  clock.observe(5) // older news does not move it back
  assert.equal(clock.next('me').lamport, 43)
})

test('the clock ignores counters that are not safe integers and saturates at the top', () => {
  const clock = new LamportClock()
  clock.observe(Number.NaN)
  clock.observe(1.5)
  clock.observe(2 ** 60)
  assert.equal(clock.value, 0)
  clock.observe(MAX_LAMPORT)
  assert.equal(clock.next('x').lamport, MAX_LAMPORT)
})
