import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SAME_LENGTH_MS, sameFilm } from '../../src/sync/media.js'
import type { Media } from '../../src/sync/types.js'

const film = (name: string, lengthMs: number | null): Media => ({ id: name, name, lengthMs })

test('the same name is the same media, whatever the lengths say', () => {
  assert.ok(sameFilm(film('a.mkv', 100_000), film('a.mkv', null)))
  assert.ok(sameFilm(film('a.mkv', 100_000), film('a.mkv', 200_000)))
})

test('another name is the same media when both lengths agree, unless ours is a file the room left', () => {
  const theirs = film('Movie.2019.1080p.mkv', 7_200_000)
  assert.ok(sameFilm(theirs, film('movie.mkv', 7_200_000 + SAME_LENGTH_MS)))
  assert.ok(!sameFilm(theirs, film('movie.mkv', 7_200_000 + SAME_LENGTH_MS + 1)))
  assert.ok(!sameFilm(theirs, film('movie.mkv', null)), 'an unknown length proves nothing')
  assert.ok(!sameFilm(film('ep02.mkv', 1_420_000), film('ep01.mkv', 1_420_000), new Set(['ep01.mkv'])), 'the episode the room left')
})

test('numbered siblings (episodes) are never one film by length', () => {
  assert.ok(!sameFilm(film('episode-2.mkv', 60_000), film('episode-1.mkv', 60_000)))
  assert.ok(!sameFilm(film('Show.S01E03.720p.mkv', 1_420_000), film('Show.S01E02.720p.mkv', 1_420_000)))
  assert.ok(sameFilm(film('Show.S01E02.720p.mkv', 1_420_000), film('show-s01e02.mkv', 1_420_000)), 'two rips of one episode')
})

test('nothing loaded matches only nothing', () => {
  assert.ok(sameFilm(null, null))
  assert.ok(!sameFilm(film('a.mkv', 1), null))
  assert.ok(!sameFilm(null, film('a.mkv', 1)))
})
