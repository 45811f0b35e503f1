import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { choosePlayer, isPlayerName, matchesSelector } from '../../src/player/select.js'
import { parseMetadata, sameMedia } from '../../src/player/metadata.js'

const P = 'org.mpris.MediaPlayer2.'
const c = (name: string, identity: string, playing = false) => ({ busName: P + name, identity, playing })

describe('player selection', () => {
  it('skips playerctld and non-MPRIS names', () => {
    assert.equal(isPlayerName(P + 'playerctld'), false)
    assert.equal(isPlayerName('org.freedesktop.Notifications'), false)
    assert.equal(isPlayerName(P), false)
    assert.equal(isPlayerName(P + 'vlc'), true)
  })

  it('matches --player by suffix (instances too), full name or Identity, ignoring case', () => {
    assert.equal(matchesSelector(c('mpv.instance42', 'mpv'), 'mpv'), true)
    assert.equal(matchesSelector(c('mpvx', 'other'), 'mpv'), false)
    assert.equal(matchesSelector(c('vlc', 'VLC media player'), 'vlc media player'), true)
    assert.equal(matchesSelector(c('vlc', 'VLC'), P + 'VLC'), true)
  })

  it('prefers the playing player, else the only one; otherwise says why not', () => {
    assert.deepEqual(choosePlayer([c('a', 'A'), c('b', 'B', true)]), { ok: true, busName: P + 'b' })
    assert.deepEqual(choosePlayer([c('a', 'A')]), { ok: true, busName: P + 'a' })
    assert.deepEqual(choosePlayer([c('b', 'B', true), c('a', 'A', true)]), { ok: true, busName: P + 'a' }, 'ties: lowest name')
    const none = choosePlayer([])
    assert.equal(none.ok ? 'ok' : none.reason, 'none')
    const ambiguous = choosePlayer([c('a', 'A'), c('b', 'B')])
    assert.equal(ambiguous.ok ? 'ok' : ambiguous.reason, 'ambiguous')
    const noMatch = choosePlayer([c('a', 'A', true)], 'vlc')
    assert.ok(!noMatch.ok && noMatch.reason === 'no-match' && noMatch.message.includes('a (A)'))
    assert.deepEqual(choosePlayer([c('a', 'A', true), c('vlc', 'VLC')], 'vlc'), { ok: true, busName: P + 'vlc' })
  })
})

describe('media identity from Metadata', () => {
  it('is the url basename (not the length, filled in late); the title when there is no url', () => {
    const m = parseMetadata({ 'mpris:trackid': '/0', 'xesam:url': 'file:///home/a/Movie%20Night.mkv', 'xesam:title': 'T', 'mpris:length': 5_400_000_000 })
    assert.equal(m.trackId, '/0')
    assert.deepEqual(m.media, { id: 'Movie Night.mkv', name: 'Movie Night.mkv', title: 'T', url: 'file:///home/a/Movie%20Night.mkv', lengthMs: 5_400_000 })
    assert.equal(parseMetadata({ 'xesam:title': 'Clip' }).media?.id, 'Clip')
    assert.equal(parseMetadata({}).media, null)
    // A trackid names no media: mpv-mpris while idle, and the MPRIS "no track" path.
    assert.equal(parseMetadata({ 'mpris:trackid': '/noplaylist' }).media, null)
    assert.equal(parseMetadata({ 'mpris:trackid': '/org/mpris/MediaPlayer2/TrackList/NoTrack' }).media, null)
    assert.equal(parseMetadata({ 'xesam:url': 'file:///a.mkv' }).media?.id, parseMetadata({ 'xesam:url': 'file:///b/a.mkv', 'mpris:length': 1000 }).media?.id)
    assert.equal(parseMetadata('garbage').media, null)
    assert.equal(parseMetadata({ 'xesam:url': 42, 'mpris:length': 'x' }).media, null)
  })

  it('treats a reading that only adds the length as the same item, another url as another', () => {
    const first = parseMetadata({ 'xesam:url': 'file:///a.mkv' }).media
    const later = parseMetadata({ 'xesam:url': 'file:///a.mkv', 'mpris:length': 1000 }).media
    const other = parseMetadata({ 'xesam:url': 'file:///b.mkv', 'mpris:length': 1000 }).media
    assert.equal(sameMedia(first, later), true)
    assert.equal(sameMedia(later, other), false)
    assert.equal(sameMedia(null, other), false)
  })
})
