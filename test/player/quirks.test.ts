/**
 * What is known per player by its bus name reaches the sync engine through the player layer: VLC's
 * short rate changes do not move it (quirks.ts), so its capabilities say it is not to be nudged.
 */
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { nudgeableFor } from '../../src/player/quirks.js'
import { QUIRKS } from '../fixtures/fake-mpris.js'
import { fakeMprisPlayer } from './helpers.js'

describe('per-player quirks', () => {
  const cleanups: Array<() => Promise<void> | void> = []
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  })

  it('VLC, by its bus name, is not moved by short rate changes; mpv and players not listed are', () => {
    assert.equal(nudgeableFor('org.mpris.MediaPlayer2.vlc'), false)
    assert.equal(nudgeableFor('org.mpris.MediaPlayer2.vlc.instance4242'), false)
    assert.equal(nudgeableFor('org.mpris.MediaPlayer2.mpv'), true)
    assert.equal(nudgeableFor('org.mpris.MediaPlayer2.vlcfork'), true)
    assert.equal(nudgeableFor('org.mpris.MediaPlayer2.firefox.instance_1_7'), true)
  })

  it('an MPRIS player named vlc says so in its capabilities; another does not', async () => {
    const vlc = await fakeMprisPlayer({ name: 'vlc', quirks: QUIRKS.vlc }, cleanups)
    assert.equal(vlc.player.capabilities().nudgeable, false)
    const other = await fakeMprisPlayer({ name: 'celluloid', quirks: QUIRKS.mpv }, cleanups)
    assert.equal(other.player.capabilities().nudgeable, true)
  })
})
