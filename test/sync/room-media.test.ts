import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RoomMedia } from '../../src/sync/room-media.js'
import { MEDIA_WAIT_MS } from '../../src/sync/config.js'
import type { Action, Media, PlaybackState } from '../../src/sync/types.js'

const ep1: Media = { id: 'episode-1.mkv', name: 'episode-1.mkv', lengthMs: 1_500_000 }
const ep2: Media = { id: 'episode-2.mkv', name: 'episode-2.mkv', lengthMs: 1_500_000 }
const state = (media: Media, author = 'a', playing = true): PlaybackState =>
  ({ media, playing, positionMs: 0, atMs: 0, rate: 1, stamp: { lamport: 1, nodeId: author } })
const everyone = (): boolean => true

test('the author holds a playing room for a present viewer lacking its file, once per media, and resumes when it has it', () => {
  const m = new RoomMedia('a')
  m.peerSays('b', ep2.id, false)
  assert.deepEqual(m.decideHold(state(ep2), 1000, everyone), { kind: 'hold', waitingFor: ['b'], untilMs: 1000 + MEDIA_WAIT_MS })
  assert.equal(m.nextDueMs(), 1000 + MEDIA_WAIT_MS)
  assert.equal(m.decideHold(state(ep2, 'a', false), 2000, everyone), null, 'still waiting')
  m.peerSays('b', ep2.id, true)
  assert.deepEqual(m.decideHold(state(ep2, 'a', false), 3000, everyone), { kind: 'resume', waitingFor: [], timedOut: false })
  m.peerSays('b', ep2.id, false)
  assert.equal(m.decideHold(state(ep2), 4000, everyone), null, 'one hold per media')
  m.newTrack()
  assert.equal(m.decideHold(state(ep2), 5000, everyone)?.kind, 'hold', 'unless the user opened it again')
})

test('a hold ends after MEDIA_WAIT_MS; only the author holds; absent viewers are not waited for', () => {
  const m = new RoomMedia('a')
  m.peerSays('b', ep1.id, false)
  assert.equal(new RoomMedia('c').decideHold(state(ep1), 0, everyone), null, 'not the author')
  assert.equal(m.decideHold(state(ep1), 0, () => false), null, 'b is gone')
  assert.equal(m.decideHold(state(ep1), 0, everyone)?.kind, 'hold')
  assert.deepEqual(m.decideHold(state(ep1, 'a', false), MEDIA_WAIT_MS, everyone), { kind: 'resume', waitingFor: ['b'], timedOut: true })
})

test('numbered siblings are other films, and a file the room left is never the room\'s again', () => {
  const m = new RoomMedia('a')
  assert.equal(m.matches(state(ep1), ep2), false)
  const copy: Media = { id: 'Film.2019.mkv', name: 'Film.2019.mkv', lengthMs: 7_200_400 }
  const film: Media = { id: 'film.mkv', name: 'film.mkv', lengthMs: 7_200_000 }
  assert.equal(m.matches(state(film), copy), true, 'same length within a second: one film')
  m.noteChange(state(copy), state(film))
  assert.equal(m.matches(state(film), copy), false, 'the room moved on from it')
})

test('what our player shows is said once: lacking the file, then having it; a mismatch once per state', () => {
  const m = new RoomMedia('a')
  const s = state(ep2, 'b')
  const out: Action[] = []
  const mismatch = m.mismatch(s, ep1)
  assert.deepEqual(mismatch, { theirs: ep2, ours: ep1 })
  m.tell(s, ep1, mismatch, out)
  m.tell(s, ep1, mismatch, out)
  assert.deepEqual(out.map(a => a.type === 'notice' ? a.notice.kind : a.type === 'broadcast' ? a.msg.type : a.type), ['media-wait', 'media-mismatch'])
  assert.equal(m.toldLacking, ep2.id)
  out.length = 0
  m.tell(s, ep2, null, out)
  assert.deepEqual(out, [{ type: 'broadcast', msg: { type: 'media-wait', mediaId: ep2.id, ready: true } }])
  assert.equal(m.toldLacking, null)
})
