/**
 * What a player's readings mean, for every backend: each observation (a read of the player, or a
 * change it pushed) is compared with what was known, the command ledger (ledger.ts) is asked
 * whether one of our commands explains a change, the position tracker (position.ts) says where the
 * player really is, and what is left over is what the user did. A backend only turns its own
 * protocol (MPRIS over D-Bus, mpv's JSON IPC) into observations and carries out commands.
 *
 * Pure: every observation carries its time; nothing here reads a clock or does I/O.
 */
import { CommandLedger } from './ledger.js'
import type { Expectation } from './ledger.js'
import { sameMedia } from './metadata.js'
import type { MediaInfo, PlayerState, UserEvent } from './player.js'
import { PositionTracker } from './position.js'
import type { Read, Timeline, ValueQuirks, Verdict } from './position.js'

/** A stop this close to the end of the file is the file ending, not the viewer stopping. */
export const END_OF_MEDIA_MS = 3000
/** Seeks within this of each other are the same seek to the ledger (mpv lands -2..+33 ms off). */
export const SEEK_MATCH_TOLERANCE_MS = 250
/**
 * A seek of ours counts as under way (reads show its target) until the player reports a landing,
 * or this long: mpv reports one 2-30 ms after the seek, tens of ms more on a busy machine.
 */
export const SEEK_IN_FLIGHT_MAX_MS = 400
/**
 * A player that reports its value in Seeked (VLC) works through our commands late on a loaded
 * machine: 2 s after three quick starts of ours (seeks to 428, 782 and 1365 ms) it sent Seeked
 * 418, where the first had left it. A Seeked at a target of ours that a later seek of ours
 * replaced, this recent, is that lag (the player is not where we put it), not the viewer's seek.
 */
export const SUPERSEDED_SEEK_ECHO_MS = 5_000
/** Superseded targets kept: more than a burst of starts sends. */
const MAX_SUPERSEDED_SEEKS = 8
/** Rates are doubles; anything closer than this is the same rate. */
const RATE_EPSILON = 1e-9

/** What one observation carried; absent fields were not part of it. */
export interface Observation {
  atMs: number
  playing?: boolean
  /** The player is stopped: it no longer says where it was (MPRIS reports 0). */
  stopped?: boolean
  rate?: number
  /** The media shown (null: none); absent when the observation says nothing about it. */
  media?: MediaInfo | null
  positionMs?: number
  /** For reads: when the read was sent (the player had processed every earlier command) and its round trip. */
  sentMs?: number
  rttMs?: number
}

/** Where a seek landed, exactly (MPRIS Seeked, mpv's playback-restart), and when that was seen. */
export interface Landing {
  positionMs: number
  atMs: number
}

/** The position at `state.atMs` of a player that landed at `landed` and has played since if `state` plays. */
export function fromLanding (landed: Landing, state: PlayerState): number {
  return landed.positionMs + (state.playing ? Math.max(0, state.atMs - landed.atMs) * state.rate : 0)
}

export interface Judgement {
  /** The state the observation implies. */
  state: PlayerState
  /** What the user did, in order (empty: nothing, or only our own commands). */
  kinds: Array<UserEvent['kind']>
  /** Playing, rate or media changed without a position: read the player to re-anchor. */
  wantsRead: boolean
  /** A stop near the end of the file: the file ended, nobody stopped it. */
  endOfMedia: boolean
}

interface Known {
  playing: boolean
  rate: number
  media: MediaInfo | null
}

export class PlayerObserver {
  private readonly ledger = new CommandLedger()
  private readonly tracker = new PositionTracker()
  private known: Known | null = null
  /** How long the player goes on at the old rate after a rate change (position.ts; mpv: ~0.3 s). */
  rateTakesEffectMs = 0
  /** When our latest seek was sent, until the player reports a landing (see `stateAt`'s `seeking`). */
  private seekSentMs: number | null = null
  /** The player reports its landings (as the backend last said). */
  private reportsLandings = false
  /** Our recent seeks' targets, oldest first: all but the latest were replaced (see SUPERSEDED_SEEK_ECHO_MS). */
  private ourSeeks: Array<{ positionMs: number, atMs: number }> = []
  /** How many rate changes of the user's have been seen (see `rateChangesByUser`). */
  private userRates = 0

  /**
   * Counts the user's rate changes seen so far. A backend reads the player before it sets a rate
   * and leaves the rate alone if this moved: mpv-mpris batches PropertiesChanged for ~100 ms, so a
   * rate set on top of the viewer's within that batch would be the only one ever reported, and
   * their change lost (a CI run saw a viewer's 1x put back to the room's 1.5x that way).
   */
  get rateChangesByUser (): number {
    return this.userRates
  }

  /** Whether a first observation has been made. */
  get started (): boolean {
    return this.known !== null
  }

  /** Records a command about to be sent; withdraw the token if the command fails. */
  expect (exp: Expectation, nowMs: number): object {
    if (exp.kind === 'seek') {
      this.seekSentMs = nowMs
      this.ourSeeks = [...this.ourSeeks, { positionMs: exp.positionMs, atMs: nowMs }].slice(-MAX_SUPERSEDED_SEEKS - 1)
    }
    return this.ledger.expect(exp, nowMs)
  }

  withdraw (token: object): void {
    this.ledger.withdraw(token)
  }

  /** The command got no answer in time; it may still be carried out (ledger.ts). */
  hold (token: object, nowMs: number): void {
    this.ledger.hold(token, nowMs)
  }

  /** A held command's late answer: carried out (`answered`, at `nowMs`) or not. */
  lateAnswer (token: object, answered: boolean, nowMs: number): void {
    if (answered) this.ledger.renew(token, nowMs)
    else this.ledger.withdraw(token)
  }

  /** What is known of how this player's value relates to its picture (quirks.ts). */
  setQuirks (q: ValueQuirks): void {
    this.tracker.setQuirks(q)
  }

  /** How coarse the player's position is, as measured while playing (position.ts). */
  granularityMs (): number | null {
    return this.tracker.granularityMs()
  }

  /** For a coarse player: when a read would bracket its next step edge best (position.ts); else null. */
  nextEdgeMs (): number | null {
    return this.tracker.nextEdgeMs()
  }

  /**
   * Applies one observation: updates what is known and says what the user did. Observations must
   * be applied in the order the player sent them. `sendsSeeked`: the player reports every seek by
   * itself (MPRIS Seeked), so a large jump seen only by a read waits for that report (position.ts).
   */
  observe (obs: Observation, sendsSeeked = false): Judgement {
    this.reportsLandings = sendsSeeked
    const quiet = { kinds: [], wantsRead: false, endOfMedia: false }
    if (this.known === null) {
      this.known = { playing: obs.playing ?? false, rate: obs.rate ?? 1, media: obs.media ?? null }
      this.tracker.reset({ positionMs: obs.positionMs ?? 0, atMs: obs.atMs, playing: this.known.playing, rate: this.known.rate })
      return { state: this.stateAt(obs.atMs), ...quiet }
    }
    const known = this.known
    const kinds: Array<UserEvent['kind']> = []
    let endOfMedia = false
    // A status or media change happened at an unknown moment since the last observation: the
    // position cannot be judged against the old line. After a new file it is anyone's; after a
    // play or pause it is judged against the band of positions the change allows.
    let discontinuity = false
    let newMedia = false
    let rateChange: 'none' | 'ours' | 'user' = 'none'

    if (obs.media !== undefined) {
      if (!sameMedia(known.media, obs.media)) {
        // Ours only when we opened this very file (to follow the room); otherwise the user's.
        if (!this.ledger.explainMedia(obs.media?.url ?? null, obs.atMs)) {
          this.ledger.userChanged('media')
          kinds.push('media')
        }
        discontinuity = true
        newMedia = true
      }
      known.media = obs.media
    }
    if (obs.sentMs !== undefined) {
      // A read: where it finds the player unchanged, our commands that wanted exactly that are done.
      if (obs.playing !== undefined && obs.playing === known.playing && obs.stopped !== true) {
        if (this.ledger.overriddenStatus(obs.playing, obs.sentMs)) {
          // Our play or pause was carried out before this read, yet the player is back as it was
          // and no signal said so: the user pressed it again while our command landed.
          this.ledger.userChanged('status')
          kinds.push(obs.playing ? 'play' : 'pause')
          discontinuity = true
        } else {
          this.ledger.settleStatus(obs.playing, obs.sentMs)
        }
      }
      if (obs.rate !== undefined && Math.abs(obs.rate - known.rate) <= RATE_EPSILON) this.ledger.settleRate(obs.rate, obs.sentMs)
    }
    // A stopped player reports position 0: where it stopped is where it was last seen.
    const positionMs = obs.stopped === true ? undefined : obs.positionMs
    if (obs.playing !== undefined && obs.playing !== known.playing) {
      if (obs.stopped === true && this.nearEnd(obs.atMs)) {
        // The end of the file (VLC stops there): the others get there by themselves.
        endOfMedia = true
      } else if (!this.ledger.explainStatus(obs.playing, obs.atMs)) {
        this.ledger.userChanged('status')
        kinds.push(obs.playing ? 'play' : 'pause')
      }
      known.playing = obs.playing
      discontinuity = true
    }
    if (obs.rate !== undefined && Math.abs(obs.rate - known.rate) > RATE_EPSILON) {
      rateChange = 'ours'
      if (!this.ledger.explainRate(obs.rate, obs.atMs)) {
        this.ledger.userChanged('rate')
        kinds.push('rate')
        rateChange = 'user'
        this.userRates++
      }
      known.rate = obs.rate
    }

    if (!discontinuity && rateChange !== 'none') {
      // The position did not jump; only its speed changed. Our nudges keep the learned phase.
      this.tracker.retime(obs.atMs, known.rate, rateChange === 'ours', this.rateTakesEffectMs)
    }
    if (discontinuity) this.tracker.unanchor(obs.atMs, known.playing, known.rate, !newMedia)
    if (positionMs !== undefined) {
      const t: Read = { positionMs, atMs: obs.atMs, playing: known.playing, rate: known.rate }
      if (obs.rttMs !== undefined) t.rttMs = obs.rttMs
      const verdict: Verdict = this.tracker.read(t, () => this.explainSeek(t, true), sendsSeeked)
      if (verdict === 'user') {
        this.ledger.userChanged('seek')
        kinds.push('seek')
      }
    }
    const wantsRead = discontinuity && kinds.length === 0 && positionMs === undefined
    return { state: this.stateAt(obs.atMs), kinds, wantsRead, endOfMedia }
  }

  /**
   * The player says it jumped to `positionMs` (MPRIS Seeked, mpv's playback-restart): an exact
   * position. True when it was the user's seek.
   */
  seeked (positionMs: number, atMs: number): boolean {
    this.seekSentMs = null
    this.reportsLandings = true
    if (this.known === null) return false
    const t: Timeline = { positionMs, atMs, playing: this.known.playing, rate: this.known.rate }
    // The Seeked of a seek of ours that a read already found done, come late: nothing new (the
    // line stands on that seek since the read; the Seeked's position may be long stale by now).
    if (this.ledger.lateSeekEcho(t.positionMs, t.atMs, this.seekToleranceMs(), Math.max(1, t.rate))) return false
    // Where an earlier seek of ours left a player still working through our commands: ours.
    if (this.atSupersededTarget(t)) {
      this.tracker.seeked(t, () => true)
      return false
    }
    const verdict = this.tracker.seeked(t, () => this.explainSeek(t))
    // A landing close to where the player was is not judged a jump, but when a seek of ours is
    // pending there it is that seek's echo: consumed, so that it cannot explain the next landing
    // (the user's seek right after ours, to near the same place).
    if (verdict === 'tracked') this.explainSeek(t)
    if (verdict !== 'user') return false
    this.ledger.userChanged('seek')
    return true
  }

  /** The best estimate of the player's state at `atMs` (paused at 0 with nothing open before the first observation). */
  stateAt (atMs: number): PlayerState {
    const known = this.known ?? { playing: false, rate: 1, media: null }
    const positionMs = this.tracker.estimate(atMs) ?? 0
    const state: PlayerState = { playing: known.playing, positionMs, atMs, rate: known.rate, media: known.media === null ? null : { ...known.media } }
    if (this.reportsLandings && this.seekSentMs !== null && atMs >= this.seekSentMs && atMs - this.seekSentMs < SEEK_IN_FLIGHT_MAX_MS) state.seeking = true
    const uncertaintyMs = this.tracker.uncertaintyMs()
    if (uncertaintyMs !== null) state.uncertaintyMs = uncertaintyMs
    return state
  }

  /** Whether a value-carrying Seeked shows the target of a recent seek of ours that a later one replaced. */
  private atSupersededTarget (t: Timeline): boolean {
    if (!this.tracker.seekedIsValue) return false
    // At the target itself (Seeked 418 for a seek to 428), not a refresh away. With the step the
    // reads show added (VLC: 1-1.2 s), a viewer's seek to 1.3 s from a target of ours replaced
    // 4.8 s before matches: in a bench:vlc room (12-04) such a seek went unreported twice, and the
    // engine undid it 7.6 s on (observer.test.ts has the case).
    return this.ourSeeks.slice(0, -1).some(s => t.atMs - s.atMs <= SUPERSEDED_SEEK_ECHO_MS && Math.abs(t.positionMs - s.positionMs) <= SEEK_MATCH_TOLERANCE_MS)
  }

  /** Whether playback was within END_OF_MEDIA_MS of the end of a file of known length. */
  private nearEnd (atMs: number): boolean {
    const lengthMs = this.known?.media?.lengthMs ?? null
    const positionMs = this.tracker.estimate(atMs)
    return lengthMs !== null && positionMs !== null && positionMs >= lengthMs - END_OF_MEDIA_MS
  }

  private explainSeek (t: Timeline, byRead = false): boolean {
    return this.ledger.explainSeek(t.positionMs, t.atMs, this.seekToleranceMs(), Math.max(1, t.rate), byRead)
  }

  private seekToleranceMs (): number {
    return SEEK_MATCH_TOLERANCE_MS + (this.tracker.granularityMs() ?? 0)
  }
}
