import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { CommandLedger, EXPECT_WINDOW_MS, STATUS_SETTLED_MS } from '../../src/player/ledger.js'
import { LATE_ANSWER_MAX_MS } from '../../src/player/deadline.js'

describe('CommandLedger', () => {
  it('explains a status change once, then no more', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'status', playing: false }, 0)
    assert.equal(l.explainStatus(false, 50), true)
    assert.equal(l.explainStatus(false, 60), false)
  })

  it('does not explain the opposite change, nor one after the deadline', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'status', playing: true }, 0)
    assert.equal(l.explainStatus(false, 10), false)
    assert.equal(l.explainStatus(true, EXPECT_WINDOW_MS + 1), false)
  })

  it('a user change of a kind withdraws our pending commands of that kind (no-op Pause cannot swallow a later pause)', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'status', playing: false }, 0) // Pause while already paused: nothing will be reported
    l.expect({ kind: 'rate', rate: 1.01 }, 0)
    assert.equal(l.explainStatus(true, 100), false) // the user pressed play
    l.userChanged('status')
    assert.equal(l.explainStatus(false, 200), false) // ...and pause: theirs, not ours
    assert.equal(l.explainRate(1.01, 200), true) // other kinds untouched
  })

  it('a command with no answer in time is held until its late answer: then due as a fresh one; never answered, withdrawn', () => {
    const l = new CommandLedger()
    const pause = l.expect({ kind: 'status', playing: false }, 0)
    const seek = l.expect({ kind: 'seek', positionMs: 13_000 }, 0)
    l.hold(pause, EXPECT_WINDOW_MS)
    l.hold(seek, EXPECT_WINDOW_MS)
    // The player was frozen for 10 s: long past the window, the commands still wait.
    assert.equal(l.pending('status', 10_000), 1)
    l.renew(pause, 10_000)
    assert.equal(l.explainStatus(false, 10_100), true, 'the late Pause landing is ours')
    l.withdraw(seek) // never answered
    assert.equal(l.explainSeek(13_000, 10_200, 40, 1), false)
    const play = l.expect({ kind: 'status', playing: true }, 20_000)
    l.hold(play, 22_000)
    l.renew(play, 23_000)
    // A read sent right after the late answer still shows the old status (mpv-mpris answers with
    // what it last heard): not the user overriding our Play, which is a command issued at 23 s.
    assert.equal(l.overriddenStatus(false, 23_000 + STATUS_SETTLED_MS - 1), false)
    assert.equal(l.explainStatus(true, 23_000 + EXPECT_WINDOW_MS + 1), false, 'answered late, then due within the window like any command')
    // Never told how it ended (a request never sent): held no longer than a late answer is awaited.
    const lost = l.expect({ kind: 'status', playing: false }, 40_000)
    l.hold(lost, 42_000)
    assert.equal(l.pending('status', 42_000 + LATE_ANSWER_MAX_MS), 1)
    assert.equal(l.pending('status', 42_000 + LATE_ANSWER_MAX_MS + 1), 0)
  })

  it('matches commands in the order they were sent, dropping older ones of the kind', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'status', playing: true }, 0)
    l.expect({ kind: 'status', playing: false }, 1)
    l.expect({ kind: 'status', playing: true }, 2)
    assert.equal(l.explainStatus(true, 10), true)
    assert.equal(l.explainStatus(false, 20), true)
    assert.equal(l.explainStatus(true, 30), true)
    assert.equal(l.pending('status', 30), 0)
  })

  it('matches a seek by position, allowing for playback since the command', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'seek', positionMs: 30_000 }, 1000)
    assert.equal(l.explainSeek(10_000, 1100, 250, 1), false, 'far from the target')
    assert.equal(l.explainSeek(30_000 + 500 + 100, 1500, 250, 1), true, 'target + 500 ms played + landing')
    l.expect({ kind: 'seek', positionMs: 5000 }, 2000)
    assert.equal(l.explainSeek(4700, 2010, 250, 1), false, 'before the target by more than the tolerance')
  })

  it('matches rates within tolerance, and a withdrawn command explains nothing', () => {
    const l = new CommandLedger()
    const token = l.expect({ kind: 'rate', rate: 1.5 }, 0)
    l.withdraw(token)
    assert.equal(l.explainRate(1.5, 1), false)
    l.expect({ kind: 'rate', rate: 1.0005 }, 0)
    assert.equal(l.explainRate(1.0004, 1), true)
  })
})

describe('CommandLedger settling', () => {
  it('settles coalesced commands: Play then Pause never reported as changes cannot explain a later user play', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'status', playing: true }, 0)
    l.expect({ kind: 'status', playing: false }, 1)
    // mpv batched both into nothing: a read at 50 finds it paused, as our latest command wanted.
    l.settleStatus(false, 50)
    assert.equal(l.pending('status', 60), 0)
    assert.equal(l.explainStatus(true, 500), false, 'the user\'s play')
  })

  it('does not settle on a read sent before the latest command, nor on a state the latest command did not want', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'status', playing: true }, 10)
    l.settleStatus(false, 5) // a poll in flight before our Play
    l.settleStatus(false, 20) // Play not applied yet
    assert.equal(l.explainStatus(true, 30), true)
  })

  it('settles rates the same way', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'rate', rate: 1.02 }, 0)
    l.expect({ kind: 'rate', rate: 1 }, 1)
    l.settleRate(1, 50)
    assert.equal(l.explainRate(1.02, 60), false)
  })

  it('the rate we last set stays ours, as the player rounds it and however late, until the user changes the rate (VLC)', () => {
    const l = new CommandLedger()
    l.expect({ kind: 'rate', rate: 0.972666666666666 }, 0)
    assert.equal(l.explainRate(0.9726666808128357, 100), true, 'as asked (a float)')
    assert.equal(l.explainRate(0.9727626442909241, 500), true, 'as it runs: 1000/1028, reported after')
    l.expect({ kind: 'rate', rate: 1 }, 1_000)
    assert.equal(l.explainRate(1, 1_000 + EXPECT_WINDOW_MS + 400), true, 'reported 2.4 s late (a loaded machine)')
    assert.equal(l.explainRate(1.25, 4_000), false, 'the user\'s speed')
    l.userChanged('rate')
    assert.equal(l.explainRate(1, 5_000), false, 'back to 1x, by the user: theirs too')
    const failed = l.expect({ kind: 'rate', rate: 1.01 }, 6_000)
    l.withdraw(failed)
    assert.equal(l.explainRate(1.01, 6_100), false, 'a rate we failed to set is not ours')
  })
})

describe('CommandLedger and files we open', () => it('explains the file it asked for and the empty step on the way, nothing else', () => {
  const ledger = new CommandLedger()
  assert.equal(ledger.explainMedia('file:///films/episode-2.mkv', 0), false, 'nothing pending: the user changed file')
  ledger.expect({ kind: 'media', url: 'file:///films/My%20Show/episode-2.mkv' }, 0)
  assert.equal(ledger.explainMedia(null, 10), true, 'the player shows no file while it opens ours')
  assert.equal(ledger.explainMedia('file:///films/episode-3.mkv', 20), false, 'another file is the user\'s doing')
  assert.equal(ledger.explainMedia('file:///films/My Show/episode-2.mkv', 30), true, 'the same file, escaped differently')
  assert.equal(ledger.explainMedia('file:///films/My Show/episode-2.mkv', 40), false, 'each open explains one change')
}))
