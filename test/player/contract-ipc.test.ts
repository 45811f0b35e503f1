/**
 * The `Player` contract suite (contract.ts) against real mpv over its JSON IPC, in a process with
 * no D-Bus: no session bus address in the environment and no MPRIS plugin in mpv.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { IPC_POLL_INTERVAL_MS, IPC_QUIET_POLL_INTERVAL_MS, MpvIpcPlayer } from '../../src/player/mpv-ipc.js'
import { makeMedia } from '../fixtures/media.js'
import { startMpv } from '../fixtures/mpv.js'
import { playerContract } from './contract.js'
import { build, mpvAsUser, recordUserEvents } from './helpers.js'

// This process (and the mpv it starts) must not be able to reach any bus.
delete process.env.DBUS_SESSION_BUS_ADDRESS
assert.equal(process.env.DBUS_SESSION_BUS_ADDRESS, undefined)

playerContract('real mpv over JSON IPC (no D-Bus)', async () => await build(async onClose => {
  const file = await makeMedia()
  const other = await makeMedia({ seconds: 30 })
  const mpv = await startMpv({ file, paused: true })
  onClose(async () => await mpv.close())
  const player = new MpvIpcPlayer({ path: mpv.ipcPath })
  onClose(async () => await player.close())
  await player.start()
  return {
    player,
    ...mpvAsUser(mpv, other),
    // An exact seek lands on the frame at or before the target (up to one frame, 40 ms); one frame of slack on top.
    expect: { sendsSeeked: true, rate: true, positionErrorMs: 60 },
    kill: async () => { mpv.kill('SIGKILL') }
  }
}))

test('paused, mpv is read every IPC_QUIET_POLL_INTERVAL_MS (it pushes a play and a seek); a seek and a play are still told, and playing it is read every IPC_POLL_INTERVAL_MS', async () => {
  const s = await build(async onClose => {
    const mpv = await startMpv({ file: await makeMedia(), paused: true })
    onClose(async () => await mpv.close())
    const player = new MpvIpcPlayer({ path: mpv.ipcPath })
    onClose(async () => await player.close())
    await player.start()
    return { mpv, player }
  })
  try {
    assert.equal(s.player.tellsPlayAndSeek(), true)
    assert.equal(s.player.pollPeriodMs(), IPC_QUIET_POLL_INTERVAL_MS)
    const log = recordUserEvents(s.player)
    await s.mpv.command(['seek', 5, 'absolute'])
    const seeks = await log.waitForCount(1)
    assert.equal(seeks[0]?.kind, 'seek')
    assert.equal(s.player.pollPeriodMs(), IPC_QUIET_POLL_INTERVAL_MS)
    await s.mpv.command(['set_property', 'pause', false])
    const plays = await log.waitForCount(2)
    assert.equal(plays[1]?.kind, 'play')
    assert.equal(s.player.pollPeriodMs(), IPC_POLL_INTERVAL_MS)
  } finally {
    await s.close()
  }
})
