/**
 * The `Player` interface: what the daemon reads from and does to a media player.
 * Implementations: MPRIS over D-Bus (mpris.ts); mpv's JSON IPC (mpv-ipc.ts); a simulated player (demo).
 *
 * Times (`atMs`) are on this process's monotonic clock (`processNow()` in clock.ts).
 * Positions are milliseconds of media time (MPRIS speaks microseconds; convert at the boundary).
 */
import type { EventEmitter } from 'node:events'

export interface MediaInfo {
  /** Stable identity to compare files across viewers: the file basename (or the title when no url). */
  id: string
  /** File basename from the url, else the title. */
  name: string
  title: string | null
  url: string | null
  lengthMs: number | null
}

export interface PlayerState {
  playing: boolean
  /** Best estimate of the media position at local time `atMs` (round trip corrected). */
  positionMs: number
  atMs: number
  rate: number
  media: MediaInfo | null
  /**
   * A seek of ours was sent and the player has not yet said where it landed (players that do: MPRIS
   * Seeked, mpv's playback-restart): `positionMs` is then the seek's target, which mpv reports
   * mid-seek, not the frame it will rest on. Absent otherwise.
   */
  seeking?: boolean
  /**
   * The player layer fitted `positionMs` itself (a coarse player, from its step edges: VLC) and the
   * position shown lies within this many ms of it, either way. Absent for a player whose reads only
   * lag the truth (mpv): the sync engine fits those itself.
   */
  uncertaintyMs?: number
}

export interface PlayerCapabilities {
  canSeek: boolean
  canPause: boolean
  canPlay: boolean
  canControl: boolean
  /** [1, 1] when Rate is not settable. */
  rateMin: number
  rateMax: number
  /** Whether the player has been seen to send Seeked (null: not yet known). */
  sendsSeeked: boolean | null
  /**
   * How coarse its Position is, ms, as measured while playing: one frame for mpv (40 at 25 fps),
   * ~1000 for Firefox, the staleness for VLC. Null until measured (a few seconds of playing).
   */
  positionGranularityMs?: number | null
  /** While playing, a rate change takes effect this long after it reads back, ms (mpv: ~300; 0: at once). */
  rateTakesEffectMs?: number
  /** False: a rate change held for under a second does not move the player along its media (quirks.ts, VLC). Absent: it does. */
  nudgeable?: boolean
}

/** A change the user made in the player (never one the daemon commanded). */
export interface UserEvent {
  kind: 'play' | 'pause' | 'seek' | 'rate' | 'media'
  state: PlayerState
}

export interface PlayerEvents {
  /** The user did something in the player. */
  user: [UserEvent]
  /** A seek of ours landed (the player said so): a read now shows the frame it rests on. */
  landed: []
  /** The player went away (quit, crashed, bus lost). No further events follow. */
  gone: []
  /** Something worth a log line (garbage from the player dropped, a read failed...). */
  log: [PlayerLog]
}

export interface PlayerLog {
  level: 'info' | 'warn' | 'debug'
  msg: string
}

export interface Player extends EventEmitter<PlayerEvents> {
  /** Where the player is reached: a D-Bus name, e.g. `org.mpris.MediaPlayer2.mpv`, or `mpv IPC <path>`. */
  readonly busName: string
  /** What the player calls itself, e.g. `mpv Media Player` (MPRIS Identity) or `mpv 0.35.1`. */
  readonly identity: string
  capabilities (): PlayerCapabilities
  /** Reads the player now. Rejects with PLAYER_GONE when it has gone away. */
  state (): Promise<PlayerState>
  /** Each resolves once the player accepted the command; the resulting change is not reported as a user event. */
  play (): Promise<void>
  pause (): Promise<void>
  /** Absolute position, frame-accurate where the player allows (SetPosition, not relative Seek). */
  seek (positionMs: number): Promise<void>
  /**
   * Sets the playback rate, unless the viewer changed it since it was last observed: then their
   * rate stands and is reported as their event (a rate of ours sent on top could hide theirs).
   */
  setRate (rate: number): Promise<void>
  /** Opens another file (MPRIS OpenUri), to follow the room to it; absent when the player cannot. */
  open?: (url: string) => Promise<void>
  /**
   * Whether the player tells of each change it can make while paused by itself: a play (MPRIS
   * PlaybackStatus, mpv's pushed `pause`) and a seek (Seeked, mpv's seek events). Reading such a
   * paused player only backs up a lost signal, so the daemon reads it seldom. Absent: it does not.
   */
  tellsPlayAndSeek?: () => boolean
  /** Puts a message on the video for a few seconds (mpv's OSD); absent when the player cannot. */
  showText?: (text: string, durationMs?: number) => Promise<void>
  close (): Promise<void>
}

export interface PlayerListing {
  busName: string
  identity: string
  playbackStatus: 'Playing' | 'Paused' | 'Stopped' | 'Unknown'
  media: MediaInfo | null
}

export interface PlayerWatcherEvents {
  /** A player matching the selector is attached (first time, or after it came back). */
  attach: [Player]
  /** The attached player went away; an `attach` follows when one (re)appears. */
  detach: [Player]
  /** Something worth a log line (players seen, skipped, attach failures...). */
  log: [PlayerLog]
}

/**
 * Finds the player to follow and keeps following it across restarts.
 * Selection: `--player` matches bus name suffix or Identity (case-insensitive); else the playing one,
 * else the only one. Proxies such as playerctld are skipped.
 */
export interface PlayerWatcher extends EventEmitter<PlayerWatcherEvents> {
  start (): Promise<void>
  readonly current: Player | null
  /** While no player is followed: why not, as the selection rule says it; null while one is. */
  readonly notFollowing: string | null
  list (): Promise<PlayerListing[]>
  close (): Promise<void>
}
