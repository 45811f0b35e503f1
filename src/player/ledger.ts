/**
 * Echo suppression. MPRIS never says who caused a change, so every command the daemon sends is
 * written down with the effect it should have and a deadline; a change the player reports is
 * "ours" when a pending entry explains it, and the user's otherwise.
 *
 * Rules, in the order they matter:
 * - An entry explains at most one change, and is then removed together with older entries of its
 *   kind (the player applies commands in order, so those are moot).
 * - A command that changes nothing (Pause while paused) produces no report; its entry simply
 *   expires. So that it cannot swallow a later user action, the caller reports each change it
 *   attributes to the user (`userChanged`), which removes every pending entry of that kind: the
 *   user has overridden them. Seeks are the exception: a user's seek may land just before ours
 *   (both in flight at once), and ours then still lands and must still be ours; a seek entry can
 *   only explain a landing near its own target. A command that failed is withdrawn. One that got no
 *   answer in time may still be carried out (a frozen player works through its queue when it
 *   wakes): it is held until the answer comes late (it is then a command issued at that moment)
 *   or never does (withdrawn; at the latest, it expires LATE_ANSWER_MAX_MS after its deadline).
 * - Players coalesce: mpv batches PropertiesChanged on a ~100 ms timer, so Play then Pause in
 *   quick succession may never be reported as two changes. When a read made after our latest
 *   command of a kind finds the player where that command wanted it, every entry of that kind up
 *   to it is settled (done, or moot) and removed: otherwise a stale entry would linger and
 *   explain away the user's next change.
 * - A read sent well after our latest status command (STATUS_SETTLED_MS) that finds the opposite
 *   status, with no change reported in between, is the user overriding it: mpv batches the signal
 *   ~100 ms, so a press within that window leaves no signal of its own.
 * - A seek is matched by position: the reported position must lie between the target and the
 *   target plus the time elapsed since the command (the player may already be playing on).
 * - The rate we last set stays ours until the user changes it: a report of it, within what the
 *   player rounds it to, is its echo however late and however often it comes. VLC reports our
 *   Rate twice, as asked (0.97266668) and then as it runs (0.97276264, 1000/1028), the second
 *   ~0.4 s later, and on a loaded machine past EXPECT_WINDOW_MS (2.4 s seen).
 * - A seek is reported twice by players that send Seeked: by value (a read finds the player at the
 *   target) and by the signal. A read that finds it only marks the entry seen; the Seeked that
 *   follows, however late (VLC's after our Play; mpv's on a loaded machine, 400 ms after our
 *   Play), is then that seek's late echo and uses it up (`lateSeekEcho`).
 * Pure: every method takes the time; nothing here reads a clock.
 */
import { LATE_ANSWER_MAX_MS } from './deadline.js'

/**
 * How long a command's effect may take to be reported: mpv batches PropertiesChanged on a ~100 ms
 * timer and sends Seeked 2-30 ms late; VLC's Position is stale for ~0.5 s. Generous, because an
 * entry that outlives its effect can only explain a change that matches it exactly.
 */
export const EXPECT_WINDOW_MS = 2_000
/** Far more than a player ever has in flight; protects against a caller that never observes. */
export const MAX_PENDING = 64
/**
 * A read sent this long after our play or pause shows it carried out. Not sooner: mpv-mpris answers
 * with the status it last heard from mpv's event loop, and a read right after our Play said Paused
 * (a room's first start was taken for a user's pause). Well under a person's second press.
 */
export const STATUS_SETTLED_MS = 150
/** Rates users pick differ by >= 5 %; our own nudges are matched within this. */
export const RATE_MATCH_TOLERANCE = 0.01
/**
 * A player runs at the rate we last set to within this share of it: VLC at 1000/n (n whole), up
 * to rate/1000 above what it was asked (0.1 % at 1x, 0.2 % at 2x). Well under our smallest change
 * of rate (a 1 % nudge) and the users' (5 %).
 */
export const RATE_ROUNDING_SHARE = 0.003

export type Expectation =
  | { kind: 'status', playing: boolean }
  | { kind: 'seek', positionMs: number }
  | { kind: 'rate', rate: number }
  /** We asked the player to open `url` (OpenUri). */
  | { kind: 'media', url: string }

interface Entry {
  exp: Expectation
  /** When it was sent; for a command answered late, when the answer came (renew). */
  issuedAtMs: number
  deadlineMs: number
  /** A seek a read already found done: only its Seeked is still to come. */
  seenByRead?: boolean
}

export class CommandLedger {
  private entries: Entry[] = []
  /** The rate we last set, until the user changes the rate (null: none, or theirs since). */
  private rateSet: number | null = null

  /** Records a command about to be sent; the returned token withdraws it if the command fails. */
  expect (exp: Expectation, nowMs: number): object {
    this.expire(nowMs)
    if (exp.kind === 'rate') this.rateSet = exp.rate
    const entry: Entry = { exp, issuedAtMs: nowMs, deadlineMs: nowMs + EXPECT_WINDOW_MS }
    this.entries.push(entry)
    if (this.entries.length > MAX_PENDING) this.entries.shift()
    return entry
  }

  /**
   * The command got no answer in time (at `nowMs`): its entry waits for `renew` or `withdraw`, at
   * most as long as a late answer is awaited (then it expires, as if never answered).
   */
  hold (token: object, nowMs: number): void {
    const entry = this.entries.find(e => e === token)
    if (entry !== undefined) entry.deadlineMs = nowMs + LATE_ANSWER_MAX_MS
  }

  /**
   * A held command was answered late, at `nowMs`: it is a fresh command issued now (the player
   * carried it out just before answering), so a read must not take its effect, still on its way,
   * for the user overriding it (STATUS_SETTLED_MS counts from now).
   */
  renew (token: object, nowMs: number): void {
    const entry = this.entries.find(e => e === token)
    if (entry === undefined) return
    entry.issuedAtMs = nowMs
    entry.deadlineMs = nowMs + EXPECT_WINDOW_MS
  }

  withdraw (token: object): void {
    const entry = this.entries.find(e => e === token)
    // The rate was not set: what the player runs at is not ours to claim.
    if (entry?.exp.kind === 'rate' && entry.exp.rate === this.rateSet) this.rateSet = null
    this.entries = this.entries.filter(e => e !== token)
  }

  /** A change of this kind was attributed to the user: our pending commands of that kind are moot. */
  userChanged (kind: Expectation['kind']): void {
    if (kind === 'rate') this.rateSet = null
    if (kind === 'seek') return
    this.entries = this.entries.filter(e => e.exp.kind !== kind)
  }

  /** A change of PlaybackStatus was seen. True when one of our commands explains it. */
  explainStatus (playing: boolean, nowMs: number): boolean {
    return this.explain('status', nowMs, e => e.exp.kind === 'status' && e.exp.playing === playing)
  }

  /**
   * The position jumped to `positionMs` (observed at `atMs`). True when one of our seeks explains
   * it. Seen by a read (`byRead`), the seek's entry stays, marked, for its Seeked (lateSeekEcho).
   */
  explainSeek (positionMs: number, atMs: number, toleranceMs: number, maxRate: number, byRead = false): boolean {
    const lands = (e: Entry): boolean => e.seenByRead !== true && seekLands(e, positionMs, atMs, toleranceMs, maxRate)
    if (!byRead) return this.explain('seek', atMs, lands)
    this.expire(atMs)
    const i = this.entries.findIndex(lands)
    if (i < 0) return false
    const entry = this.entries[i] as Entry
    entry.seenByRead = true
    this.entries = this.entries.filter((other, j) => other.exp.kind !== 'seek' || j >= i)
    return true
  }

  /** A Seeked at `positionMs`: true when it is the late echo of a seek of ours a read already found done (used up). */
  lateSeekEcho (positionMs: number, atMs: number, toleranceMs: number, maxRate: number): boolean {
    return this.explain('seek', atMs, e => e.seenByRead === true && seekLands(e, positionMs, atMs, toleranceMs, maxRate))
  }

  /**
   * The media changed to `url` (null: nothing loaded, as while a file is opening). True when an
   * open of ours explains it: the file we asked for, or the empty step on the way to it.
   */
  explainMedia (url: string | null, nowMs: number): boolean {
    this.expire(nowMs)
    const opens = this.entries.filter(e => e.exp.kind === 'media')
    if (opens.length === 0) return false
    if (url === null) return true
    return this.explain('media', nowMs, e => e.exp.kind === 'media' && sameUrl(e.exp.url, url))
  }

  /** The Rate changed to `rate`. True when one of our commands explains it, or it is the rate we last set. */
  explainRate (rate: number, nowMs: number): boolean {
    if (this.explain('rate', nowMs, e => e.exp.kind === 'rate' && Math.abs(e.exp.rate - rate) <= RATE_MATCH_TOLERANCE)) return true
    return this.rateSet !== null && Math.abs(rate - this.rateSet) <= this.rateSet * RATE_ROUNDING_SHARE
  }

  /**
   * A read sent at `sentMs` found PlaybackStatus unchanged at `playing`. If our latest status
   * command (sent before the read) wanted exactly that, every status entry is settled.
   */
  settleStatus (playing: boolean, sentMs: number): void {
    this.settle('status', sentMs, e => e.exp.kind === 'status' && e.exp.playing === playing)
  }

  /**
   * A read sent at `sentMs` found PlaybackStatus at `playing`, unchanged since last reported. True
   * when our latest status command, sent at least STATUS_SETTLED_MS before the read, wanted the
   * opposite: the user overrode it. Its entries up to the read are dropped.
   */
  overriddenStatus (playing: boolean, sentMs: number): boolean {
    this.expire(sentMs)
    const ofKind = this.entries.filter(e => e.exp.kind === 'status' && e.issuedAtMs <= sentMs)
    const latest = ofKind[ofKind.length - 1]
    if (latest === undefined || latest.exp.kind !== 'status' || latest.exp.playing === playing) return false
    if (sentMs - latest.issuedAtMs < STATUS_SETTLED_MS) return false
    this.entries = this.entries.filter(e => e.exp.kind !== 'status' || e.issuedAtMs > sentMs)
    return true
  }

  /** As settleStatus, for the Rate. */
  settleRate (rate: number, sentMs: number): void {
    this.settle('rate', sentMs, e => e.exp.kind === 'rate' && Math.abs(e.exp.rate - rate) <= RATE_MATCH_TOLERANCE)
  }

  /** Whether a command of this kind is still waiting for its effect (for tests and diagnostics). */
  pending (kind: Expectation['kind'], nowMs: number): number {
    this.expire(nowMs)
    return this.entries.filter(e => e.exp.kind === kind).length
  }

  private explain (kind: Expectation['kind'], nowMs: number, matches: (e: Entry) => boolean): boolean {
    this.expire(nowMs)
    // Oldest first: players apply and report commands in the order they were sent.
    const i = this.entries.findIndex(matches)
    if (i >= 0) {
      // Drop it and every older entry of its kind (skipped or coalesced); keep the newer ones.
      this.entries = this.entries.filter((other, j) => other.exp.kind !== kind || j > i)
      return true
    }
    return false
  }

  private settle (kind: Expectation['kind'], sentMs: number, satisfied: (e: Entry) => boolean): void {
    this.expire(sentMs)
    const ofKind = this.entries.filter(e => e.exp.kind === kind)
    const latest = ofKind[ofKind.length - 1]
    if (latest === undefined || latest.issuedAtMs > sentMs || !satisfied(latest)) return
    this.entries = this.entries.filter(e => e.exp.kind !== kind || e.issuedAtMs > sentMs)
  }

  private expire (nowMs: number): void {
    if (this.entries.some(e => e.deadlineMs < nowMs)) this.entries = this.entries.filter(e => e.deadlineMs >= nowMs)
  }
}

/** Whether a seek entry's landing can be at `positionMs` at `atMs` (see the rules at the top). */
function seekLands (e: Entry, positionMs: number, atMs: number, toleranceMs: number, maxRate: number): boolean {
  if (e.exp.kind !== 'seek') return false
  const elapsedMs = Math.max(0, atMs - e.issuedAtMs)
  return positionMs >= e.exp.positionMs - toleranceMs && positionMs <= e.exp.positionMs + elapsedMs * maxRate + toleranceMs
}

/** Players may escape a file URL differently from how we asked for it ("%20" or " "). */
function sameUrl (a: string, b: string): boolean {
  return a === b || safeDecode(a) === safeDecode(b)
}

function safeDecode (url: string): string {
  try {
    return decodeURI(url)
  } catch {
    return url
  }
}
