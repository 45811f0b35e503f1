import { test } from 'node:test'
import assert from 'node:assert/strict'
import { osClockSynced, parseNtpSynchronized } from '../../src/daemon/clock-synced.js'
import { renderStatus } from '../../src/cli/status.js'
import type { DaemonStatus } from '../../src/daemon/daemon.js'

test('timedatectl\'s NTPSynchronized: yes, no, or unknown', () => {
  assert.equal(parseNtpSynchronized('yes\n'), true)
  assert.equal(parseNtpSynchronized('no\n'), false)
  assert.equal(parseNtpSynchronized(''), null)
  assert.equal(parseNtpSynchronized('maybe'), null)
})

test('the OS clock probe asks timedatectl on Linux only, and a failure is unknown, not unsynced', async () => {
  const calls: string[] = []
  const yes = async (file: string, args: string[]): Promise<string> => { calls.push([file, ...args].join(' ')); return 'yes\n' }
  assert.equal(await osClockSynced('linux', yes), true)
  assert.deepEqual(calls, ['timedatectl show -p NTPSynchronized --value'])
  assert.equal(await osClockSynced('linux', async () => { throw new Error('System has not been booted with systemd') }), null)
  assert.equal(await osClockSynced('darwin', yes), null)
  assert.equal(calls.length, 1)
})

function status (over: Partial<DaemonStatus>, peer: Partial<DaemonStatus['peers'][number]>): DaemonStatus {
  return {
    name: 'alice', key: 'ab'.repeat(32), player: null, leader: null, leaderName: null, playback: null, errorMs: null,
    outputDelayMs: 0, clockSynced: null, managed: null,
    peers: [{ name: 'bob', key: 'cd'.repeat(32), rttMs: 40, offsetMs: 1.5, offsetUncertaintyMs: 20.3, clockSynced: null, direct: true, ...peer }],
    ...over
  }
}

test('status says each offset\'s uncertainty, and when both clocks are NTP-synced', () => {
  const unknown = renderStatus(status({}, {}))
  assert.match(unknown, /offset 1\.5 ms ±20\.3 ms/)
  assert.doesNotMatch(unknown, /both clocks NTP-synced/)
  assert.match(unknown, /clock: +NTP sync of this machine's clock unknown/)
  const both = renderStatus(status({ clockSynced: true }, { clockSynced: true }))
  assert.match(both, /±20\.3 ms {2}\(both clocks NTP-synced\)/)
  assert.match(both, /clock: +this machine's clock is NTP-synced/)
  assert.doesNotMatch(renderStatus(status({ clockSynced: true }, { clockSynced: false })), /both clocks/)
  // An older daemon's status has no such fields: nothing invented.
  const old = status({}, {}) as unknown as Record<string, unknown>
  const peers = (old.peers as Array<Record<string, unknown>>).map(({ offsetUncertaintyMs: _u, clockSynced: _c, ...rest }) => rest)
  const { clockSynced: _ours, ...oldTop } = old
  const rendered = renderStatus({ ...oldTop, peers } as unknown as DaemonStatus)
  assert.match(rendered, /offset 1\.5 ms\n/)
  assert.doesNotMatch(rendered, /clock:/)
})
