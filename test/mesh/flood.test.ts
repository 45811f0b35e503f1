/**
 * A stranger floods a member with connections that never prove the passphrase (>= 50 a second,
 * each from a fresh key). A friend who starts meanwhile still gets in, and the member's log says
 * what it refused in a few lines, not a line per connection.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { meshBed, waitFor } from './helpers.js'
import { startFlood } from './flood.js'

/** The attack rate: the member printed ~2,500 lines a minute and kept a friend out. */
const FLOOD_PER_SEC = 60
/** Lines (not debug) the member may print while flooded: the detailed few and summaries. */
const MAX_LINES_UNDER_FLOOD = 15

describe('a stranger\'s connection flood', () => {
  const bed = meshBed()

  it('does not keep a friend out, and costs the log a few lines', async () => {
    const member = bed.node({ name: 'member' })
    await member.mesh.start()
    const flood = startFlood(bed.testnet, member.mesh.id, FLOOD_PER_SEC)
    try {
      // Let the flood fill every slot a stranger could hold before the friend comes.
      await waitFor('the flood to open 100 connections', () => flood.opened >= 100, { timeoutMs: 30_000 })
      const linesBefore = member.rec.logs.filter(l => l.level !== 'debug').length
      const friend = bed.node({ name: 'friend' })
      await friend.mesh.start()
      await waitFor('the friend to be admitted under the flood', () => member.mesh.peers().some(p => p.id === friend.mesh.id), { timeoutMs: 20_000 })
      // Flood on for a while longer: the member must not print a line per refused connection.
      const target = flood.opened + 200
      await waitFor('200 more flood connections', () => flood.opened >= target, { timeoutMs: 30_000 })
      const lines = member.rec.logs.filter(l => l.level !== 'debug').slice(linesBefore)
      assert.ok(lines.length <= MAX_LINES_UNDER_FLOOD, `${lines.length} lines under ${flood.opened} flood connections:\n${lines.map(l => l.msg).join('\n')}`)
      const refusedDetails = member.rec.logs.filter(l => /^refused /.test(l.msg))
      assert.ok(refusedDetails.length > 0, 'the refusals are told (with their reason) in --verbose output')
      assert.ok(refusedDetails.every(l => /: (no channel open|dropped unproven|no valid proof)/.test(l.msg)), refusedDetails.map(l => l.msg).join('\n'))
    } finally {
      await flood.stop()
    }
    assert.ok(flood.attempts >= 300, `${flood.attempts} flood attempts`)
  })
})
