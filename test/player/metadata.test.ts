/**
 * Media identity from a player's url: the file name, decoded; a url read again and again (a playing
 * player's Metadata) gives the same answer, and a new url is never answered with the old one's name.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mediaInfo } from '../../src/player/metadata.js'

describe('media from Metadata', () => {
  it('names a file by its decoded basename, the same each time, and a new url by its own', () => {
    const film = 'file:///home/ana/films/Le%20Voyage.mkv'
    const other = 'file:///srv/media/other-film.mp4'
    for (let i = 0; i < 3; i++) assert.equal(mediaInfo(film, null, null)?.name, 'Le Voyage.mkv')
    assert.equal(mediaInfo(other, 'Other', 1000)?.name, 'other-film.mp4')
    assert.equal(mediaInfo(film, null, null)?.name, 'Le Voyage.mkv')
    // Not a URL: taken as a path.
    assert.equal(mediaInfo('/tmp/plain path.mkv', null, null)?.name, 'plain path.mkv')
    // No file name: the title names it.
    assert.equal(mediaInfo('file:///', 'A Title', null)?.name, 'A Title')
    assert.equal(mediaInfo(null, null, null), null)
  })
})
