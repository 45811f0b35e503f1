/**
 * The observer both backends share, in simulated time: what it makes of readings as a backend
 * would feed them (MPRIS reads and signals, mpv's pushed properties).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PlayerObserver, SUPERSEDED_SEEK_ECHO_MS } from '../../src/player/observer.js'
import { VLC_QUIRKS } from '../../src/player/quirks.js'
import type { MediaInfo } from '../../src/player/player.js'

const film: MediaInfo = { id: 'film.mkv', name: 'film.mkv', title: null, url: 'file:///m/film.mkv', lengthMs: 5_400_000 }
const next: MediaInfo = { id: 'next.mkv', name: 'next.mkv', title: null, url: 'file:///m/next.mkv', lengthMs: 5_400_000 }

function started (): PlayerObserver {
  const o = new PlayerObserver()
  o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 10_000, sentMs: 0, rttMs: 0 })
  return o
}

describe('PlayerObserver', () => {
  it('the first observation is what the player is, never an action', () => {
    const o = new PlayerObserver()
    const j = o.observe({ atMs: 0, playing: true, rate: 1, media: film, positionMs: 10_000 })
    assert.deepEqual(j.kinds, [])
    assert.equal(j.state.playing, true)
    assert.equal(o.stateAt(1_000).positionMs, 11_000)
  })

  it('our own commands echo back as nothing; the same changes unasked are the user\'s', () => {
    const o = started()
    o.expect({ kind: 'status', playing: true }, 100)
    assert.deepEqual(o.observe({ atMs: 150, playing: true }).kinds, [])
    o.expect({ kind: 'seek', positionMs: 60_000 }, 1_000)
    assert.deepEqual(o.observe({ atMs: 1_030, positionMs: 60_000 }).kinds, [], 'our seek, pushed by value')
    assert.deepEqual(o.observe({ atMs: 2_000, playing: false }).kinds, ['pause'])
    assert.deepEqual(o.observe({ atMs: 2_100, positionMs: 60_900 }).kinds, [], 'where the pause left it')
    assert.deepEqual(o.observe({ atMs: 3_000, positionMs: 90_000 }).kinds, ['seek'], 'a jump nobody asked for')
    assert.equal(o.seeked(90_000, 3_010), false, 'its Seeked (playback-restart) is the same seek, not another')
  })

  it('a read while our seek is under way says so, for a player that reports its landings, until it lands', () => {
    const o = started()
    o.observe({ atMs: 50, positionMs: 10_000, sentMs: 50, rttMs: 0 }, true)
    o.expect({ kind: 'seek', positionMs: 60_013 }, 100)
    assert.equal(o.observe({ atMs: 130, positionMs: 60_013, sentMs: 130, rttMs: 0 }, true).state.seeking, true, 'mpv shows the target mid-seek')
    o.seeked(60_040, 140)
    const landed = o.observe({ atMs: 150, positionMs: 60_040, sentMs: 150, rttMs: 0 }, true).state
    assert.deepEqual([landed.positionMs, landed.seeking], [60_040, undefined], 'the read after its landing: the frame it rests on')
    const silent = started()
    silent.expect({ kind: 'seek', positionMs: 60_000 }, 100)
    assert.equal(silent.observe({ atMs: 130, positionMs: 60_000, sentMs: 130, rttMs: 0 }).state.seeking, undefined, 'a player that never says where it landed')
  })

  it('a file we opened is ours, another is the user\'s; a change without a position asks for a read', () => {
    const o = started()
    o.expect({ kind: 'media', url: next.url as string }, 100)
    const ours = o.observe({ atMs: 200, media: next })
    assert.deepEqual(ours.kinds, [])
    assert.equal(ours.wantsRead, true)
    assert.deepEqual(o.observe({ atMs: 300, media: film }).kinds, ['media'])
  })

  it('a rate nudge of ours keeps the line; the user\'s rate change is reported', () => {
    const o = started()
    o.observe({ atMs: 100, playing: true, positionMs: 10_000, sentMs: 100, rttMs: 0 })
    o.expect({ kind: 'rate', rate: 1.002 }, 200)
    assert.deepEqual(o.observe({ atMs: 210, rate: 1.002 }).kinds, [])
    assert.deepEqual(o.observe({ atMs: 400, rate: 1.5 }).kinds, ['rate'])
  })

  it('a stop near the end of the file is the file ending; elsewhere a pause where the player was', () => {
    const o = new PlayerObserver()
    o.observe({ atMs: 0, playing: true, rate: 1, media: film, positionMs: 5_398_000 })
    const end = o.observe({ atMs: 1_000, playing: false, stopped: true, positionMs: 0 })
    assert.deepEqual([end.kinds, end.endOfMedia], [[], true])
    const mid = started()
    mid.observe({ atMs: 100, playing: true, positionMs: 10_000, sentMs: 100, rttMs: 0 })
    const stop = mid.observe({ atMs: 1_100, playing: false, stopped: true, positionMs: 0 })
    assert.deepEqual(stop.kinds, ['pause'])
    assert.ok(Math.abs(stop.state.positionMs - 11_000) < 1, `stopped at ${stop.state.positionMs}, not at 0`)
  })
})

/**
 * A user who acts while the daemon's own command is still landing (0-400 ms after it): what we
 * commanded has an echo of a known shape; anything else the player does is the user's.
 */
describe('PlayerObserver: the user acts while our command lands', () => {
  function playingAt (positionMs: number, atMs: number): PlayerObserver {
    const o = new PlayerObserver()
    o.observe({ atMs, playing: true, rate: 1, media: film, positionMs, sentMs: atMs, rttMs: 0 })
    return o
  }

  it('a seek that lands before our pause-and-seek does: the user\'s, and ours after it is still ours', () => {
    // The room paused at 2583 ms; the daemon pauses and seeks there while the viewer seeks to 30 s.
    const o = playingAt(2_000, 0)
    o.expect({ kind: 'status', playing: false }, 600)
    assert.deepEqual(o.observe({ atMs: 602, playing: false }).kinds, [], 'our pause')
    o.expect({ kind: 'seek', positionMs: 2_583 }, 603)
    assert.equal(o.seeked(30_000, 604), true, 'the viewer\'s seek landed first: theirs')
    assert.equal(o.seeked(2_583, 607), false, 'then ours landed: the echo of our seek, not a second seek by the viewer')
  })

  it('a paused player our seek moved back a little is where it landed: a seek just past the old spot is the user\'s', () => {
    // Seen in the osd e2e (mpv IPC): bob's player paused at 31743 ms; the room had paused at 31663,
    // so the daemon sought there (80 ms back); then the viewer sought to 31863, 120 ms past where
    // the player had paused and 200 ms past where it now was.
    const o = playingAt(31_600, 0)
    o.expect({ kind: 'status', playing: false }, 140)
    assert.deepEqual(o.observe({ atMs: 143, playing: false, positionMs: 31_743, sentMs: 141, rttMs: 2 }).kinds, [], 'our pause')
    o.expect({ kind: 'seek', positionMs: 31_663 }, 144)
    assert.deepEqual(o.observe({ atMs: 149, positionMs: 31_663 }).kinds, [], 'our seek, pushed by value')
    assert.equal(o.seeked(31_663, 149), false, 'our seek landed: its echo')
    assert.equal(o.stateAt(150).positionMs, 31_663, 'a paused player is where its seek landed')
    assert.deepEqual(o.observe({ atMs: 196, positionMs: 31_863 }).kinds, [], 'the viewer\'s seek, pushed by value, waits for its landing')
    assert.equal(o.seeked(31_863, 196), true, 'a landing 200 ms from where the player was, nobody commanded: the viewer\'s')
  })

  it('a seek right after our start lands near our own seek target: the user\'s once our seek has landed', () => {
    // The daemon's start: pause (already paused) and a seek to where the timeline will be, then play.
    const o = new PlayerObserver()
    o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 50_000, sentMs: 0, rttMs: 0 })
    o.expect({ kind: 'status', playing: false }, 1_000)
    o.expect({ kind: 'seek', positionMs: 50_080 }, 1_001)
    assert.equal(o.seeked(50_080, 1_004), false, 'our seek landed, 80 ms on: its echo')
    o.expect({ kind: 'status', playing: true }, 1_150)
    assert.deepEqual(o.observe({ atMs: 1_152, playing: true }).kinds, [], 'our play')
    // The viewer jumps back to 50 s; the room is at ~50.23 s.
    assert.equal(o.seeked(50_000, 1_300), true, 'a second landing nobody commanded is the viewer\'s')
  })

  it('a resume while our pause is still unreported (MPRIS batches ~100 ms): the read that finds it playing is the user\'s', () => {
    const o = playingAt(10_000, 0)
    // The room pauses at 12 s: the daemon pauses and seeks there.
    o.expect({ kind: 'status', playing: false }, 2_000)
    o.expect({ kind: 'seek', positionMs: 12_000 }, 2_001)
    assert.equal(o.seeked(12_000, 2_004), false, 'our seek')
    // The viewer presses play at 2_050; the batched PropertiesChanged then says Playing, as known.
    assert.deepEqual(o.observe({ atMs: 2_100, playing: true }).kinds, [])
    const read = o.observe({ atMs: 2_200, playing: true, positionMs: 12_140, sentMs: 2_200, rttMs: 0 })
    assert.deepEqual(read.kinds, ['play'], 'our pause was carried out long before this read, yet it plays: the viewer resumed')
    assert.equal(read.state.playing, true)
    assert.deepEqual(o.observe({ atMs: 2_400, playing: true, positionMs: 12_340, sentMs: 2_400, rttMs: 0 }).kinds, [], 'reported once')
  })

  it('a read sent before our command, or too soon after it for the player to say so (mpv-mpris), judges nothing', () => {
    const o = new PlayerObserver()
    o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 10_000, sentMs: 0, rttMs: 0 })
    o.expect({ kind: 'status', playing: true }, 1_000)
    assert.deepEqual(o.observe({ atMs: 1_001, playing: false, positionMs: 10_000, sentMs: 999, rttMs: 2 }).kinds, [], 'sent before our play')
    assert.deepEqual(o.observe({ atMs: 1_050, playing: false, positionMs: 10_000, sentMs: 1_050, rttMs: 0 }).kinds, [],
      'mpv-mpris still says Paused right after our Play: not the user pausing')
    assert.deepEqual(o.observe({ atMs: 1_100, playing: true }).kinds, [], 'our play, reported')
  })

  /** The daemon's start of a paused player: pause and seek to `targetMs` at 1000, a read finds it there, our Play lands at 1110. */
  function startSeenByRead (targetMs: number): PlayerObserver {
    const o = new PlayerObserver()
    o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 0, sentMs: 0, rttMs: 0 })
    o.expect({ kind: 'status', playing: false }, 1_000)
    o.expect({ kind: 'seek', positionMs: targetMs }, 1_001)
    assert.deepEqual(o.observe({ atMs: 1_050, playing: false, positionMs: targetMs, sentMs: 1_049, rttMs: 2 }).kinds, [], 'our seek, seen by a read')
    o.expect({ kind: 'status', playing: true }, 1_100)
    assert.deepEqual(o.observe({ atMs: 1_110, playing: true }).kinds, [], 'our play')
    return o
  }

  it('VLC\'s Seeked with the frame it paused on, however late after our Play while its value has not moved on, is staleness, not a seek back', () => {
    // A room's first start at the VLC viewer: the daemon pauses (already paused) and seeks to
    // 961 ms, a read finds it there, then our Play. VLC's Position repeats 961 until its next
    // refresh (~1 s), and its Seeked with the frame it paused on (951) came 640 ms after the Play
    // on a loaded machine: it was told 'you jumped to 00:00:01'.
    const o = startSeenByRead(961)
    for (let atMs = 1_200; atMs <= 1_700; atMs += 100) {
      assert.deepEqual(o.observe({ atMs, playing: true, positionMs: 961, sentMs: atMs - 1, rttMs: 2 }).kinds, [], `stale read at ${atMs}`)
    }
    assert.equal(o.seeked(951, 1_750), false, 'the Seeked with the paused frame, 640 ms after our play')
    // Once its value has moved on, a Seeked back to that frame is the viewer's seek.
    assert.deepEqual(o.observe({ atMs: 2_100, playing: true, positionMs: 1_950, sentMs: 2_099, rttMs: 2 }).kinds, [])
    assert.equal(o.seeked(951, 2_300), true, 'a seek back to where it started, after the value moved on')
  })

  it('VLC\'s late Seeked where an earlier start of ours left it, after later starts replaced it, is that lag, not a seek back; at mpv, or long after, a seek', () => {
    // Three quick starts at a fresh VLC on a loaded machine (pause and seek, then play), the last at
    // 2.1 s; 2.2 s after the first (past the ledger's window), VLC sends Seeked 418: where the
    // first (428) left it.
    for (const [quirks, label] of [[VLC_QUIRKS, 'VLC'], [null, 'mpv']] as const) {
      const o = new PlayerObserver()
      if (quirks !== null) o.setQuirks(quirks)
      o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 0, sentMs: 0, rttMs: 0 })
      const starts: Array<[number, number]> = [[1_000, 428], [1_500, 782], [2_100, 1_365]]
      for (const [atMs, targetMs] of starts) {
        o.expect({ kind: 'status', playing: false }, atMs)
        o.expect({ kind: 'seek', positionMs: targetMs }, atMs + 1)
        o.observe({ atMs: atMs + 40, playing: false, positionMs: targetMs, sentMs: atMs + 39, rttMs: 2 })
        o.expect({ kind: 'status', playing: true }, atMs + 100)
        o.observe({ atMs: atMs + 110, playing: true })
      }
      for (let atMs = 2_300; atMs <= 2_900; atMs += 200) o.observe({ atMs, playing: true, positionMs: 1_365 + atMs - 2_210, sentMs: atMs - 1, rttMs: 2 })
      assert.equal(o.seeked(418, 3_200), quirks === null, `${label}: Seeked at the first start's target, 2.2 s on`)
    }
    const o = new PlayerObserver()
    o.setQuirks(VLC_QUIRKS)
    o.observe({ atMs: 0, playing: true, rate: 1, media: film, positionMs: 10_000, sentMs: 0, rttMs: 0 })
    o.expect({ kind: 'seek', positionMs: 20_000 }, 100)
    o.expect({ kind: 'seek', positionMs: 30_000 }, 200)
    o.seeked(30_000, 250)
    assert.equal(o.seeked(20_000, 100 + SUPERSEDED_SEEK_ECHO_MS + 1_000), true, 'long after, a seek to that place is the viewer\'s')
  })

  it('VLC: the viewer\'s seek back to 1.3 s from a target of ours that a re-sync replaced 4.8 s before is the viewer\'s seek, not that lag', () => {
    // A bench:vlc room (12-04): our start paused VLC at 42 242 ms and played; 2.25 s on a re-sync
    // seeked it to 44 502 ms and played; reads followed it there for 2.4 s; then carol seeked to
    // 41 s, and VLC's Seeked said 40 940 ms.
    const o = new PlayerObserver()
    o.setQuirks(VLC_QUIRKS)
    o.observe({ atMs: 0, playing: false, rate: 1, media: film, positionMs: 42_242, sentMs: 0, rttMs: 0 })
    for (const [atMs, targetMs] of [[100, 42_242], [2_350, 44_502]] as const) {
      o.expect({ kind: 'status', playing: false }, atMs)
      o.expect({ kind: 'seek', positionMs: targetMs }, atMs + 1)
      o.observe({ atMs: atMs + 50, playing: false, positionMs: targetMs, sentMs: atMs + 49, rttMs: 2 })
      o.expect({ kind: 'status', playing: true }, atMs + 60)
      o.observe({ atMs: atMs + 70, playing: true })
      // VLC's value, refreshed every ~1 s; here 1.3 s apart (a refresh late under load), so the
      // reads spread 1.2 s: with that added to the match, the rule took this seek for lag.
      for (let readMs = atMs + 170; readMs < atMs + 2_200; readMs += 100) o.observe({ atMs: readMs, playing: true, positionMs: targetMs + Math.floor((readMs - atMs - 70) / 1300) * 1300, sentMs: readMs - 1, rttMs: 2 })
    }
    assert.ok((o.granularityMs() ?? 0) >= 1100, `VLC's step as the reads show it: ${String(o.granularityMs())} ms`)
    assert.equal(o.seeked(40_940, 4_870), true, 'the viewer\'s seek, 4.8 s after our replaced target of 42 242 ms')
  })

  it('the Seeked of our seek that a read already found done, come late after our Play, is its echo, not a seek back (mpv on a loaded machine)', () => {
    // The daemon's start: pause and seek to 1234 ms; a read finds it there before the Seeked
    // (2-30 ms on an idle machine) arrives; our Play. The Seeked, with where mpv was when it sent
    // it, arrives 400 ms after the reads moved on: it was told 'you jumped to 00:00:01'.
    const o = startSeenByRead(1_234)
    for (let atMs = 1_200; atMs <= 1_500; atMs += 100) {
      assert.deepEqual(o.observe({ atMs, playing: true, positionMs: 1_234 + atMs - 1_110, sentMs: atMs - 1, rttMs: 2 }).kinds, [], `read at ${atMs}`)
    }
    assert.equal(o.seeked(1_303, 1_590), false, 'its Seeked, 400 ms behind the reads')
    assert.ok(Math.abs(o.stateAt(1_600).positionMs - (1_234 + 490)) <= 40, `the line stays where the reads put it: ${o.stateAt(1_600).positionMs}`)
    // It was used up: the viewer's own seek back there is a seek.
    assert.equal(o.seeked(1_250, 1_800), true, 'the viewer seeking back near our target')
  })
})
