/**
 * The daemon wires the three layers together and is the only part that owns real time:
 * it feeds the pure sync engine with what the mesh and the player report (stamped with the
 * monotonic clock), and carries out the engine's actions (messages, player commands, wake-ups).
 */
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Mesh, PeerId } from '../mesh/types.js'
import type { Player, PlayerState, PlayerWatcher, UserEvent } from '../player/player.js'
import { SyncEngine } from '../sync/engine.js'
import { EngineDriver, POLL_AFTER_CHANGE_MS } from './driver.js'
import { decodeSyncMessage, encodeSyncMessage } from '../sync/codec.js'
import type { Action, EngineSnapshot, Input, Media, Notice, PlayerCommand, PlayerObservation, SyncMessage } from '../sync/types.js'
import { isWatchmeshError } from '../errors.js'
import { formatMs, formatTimecode } from './format.js'
import type { Logger } from './log.js'
import type { Notifier } from './notify.js'
import { processNow } from '../clock.js'
import { ChatRate } from './chat.js'
import { SeekBursts } from './seek-bursts.js'
import type { OperatorGate } from './operator-gate.js'
import { shortId } from '../mesh/names.js'
import { siblingUrl } from './sibling.js'
import { sanitizeText } from '../text/sanitize.js'
import { playerKind } from '../player/kind.js'
import { priorsFor } from '../player/quirks.js'
import { SAVE_INTERVAL_MS } from './player-memory.js'
import type { PlayerMemory } from './player-memory.js'
import { PlayerSilence } from './player-silence.js'
import type { SilenceLine } from './player-silence.js'

/**
 * A room that stays empty this long most likely means a mistyped passphrase (it decides the DHT
 * topic's bucket and the PAKE, so a wrong one meets nobody of the room): say so once, rather than
 * waiting in silence.
 */
const ALONE_HINT_MS = 10_000
/** With --verbose, a line of who is here, their RTT and clock offset, and our skew, this often. */
const SUMMARY_INTERVAL_MS = 10_000
/** While the OS says our wall clock is synced, how often our clock is read against it again. */
const OS_CLOCK_CHECK_MS = 10_000
/**
 * A player that has just started shows no media until its file is open (mpv: ~0.1 s), and its
 * length a little later (copies with other names are matched by length). Wait this long for both
 * before following the player, so a restarted player is not taken for an empty one.
 */
const PLAYER_LOAD_GRACE_MS = 2000
const PLAYER_LOAD_POLL_MS = 100
/**
 * A player that does not answer while being attached is read again this often: its calls already
 * wait up to 2 s each (the backends' deadline), so this only spaces the attempts out.
 */
const ATTACH_RETRY_MS = 1000
/** Who did it, for the scrubbing narrator: our own actions are told as "you". */
const SELF = ''
/** Members whose refused control we remember (to warn once each); a room is far smaller. */
const MAX_REFUSED_PEERS = 256
const ACTION_NOUN: Record<UserEvent['kind'], string> = { play: 'play', pause: 'pause', seek: 'seek', rate: 'speed change', media: 'change of file' }
/** Messages on the video stay this long: long enough to read a line, short enough not to cover the film. */
const OSD_DURATION_MS = 4000
/** A message on the video is one line; longer ones (long file names) are cut. */
const OSD_MAX_CHARS = 120
/**
 * The mesh starts before the player is reached, so the first joins can be told before there is a
 * video to show them on: the latest few are kept, and shown when the player attaches if still this
 * recent (older news would mislead more than it tells).
 */
const OSD_PENDING_MAX = 3
const OSD_PENDING_MS = 10_000
const OSD_JOINER = ' · '

export interface DaemonOptions {
  name: string
  mesh: Mesh
  watcher: PlayerWatcher
  logger: Logger
  /** Desktop notifications of other people's actions (`--notify`); off when absent. */
  notifier?: Notifier
  /** Put what others do on the video, when the player can (mpv over IPC); default off. */
  osd?: boolean
  /** The wall clock, to tell peers how ours sits against it while the OS keeps it synced (Date.now). */
  wallNow?: () => number
  /**
   * Every engine input and the actions it returned, one JSON object per line (for debugging and
   * for replaying a real session in the simulator). Off when absent.
   */
  trace?: (line: string) => void
  /** This viewer hears its player this late (headphones, a TV): the player runs that far ahead. */
  outputDelayMs?: number
  /** A managed room's rule (only operators control playback); absent in an ordinary room. */
  gate?: OperatorGate
  /** What was learnt of each kind of player, to start from and to keep (player-memory.ts); none when absent. */
  memory?: PlayerMemory
  /** Injected for tests; defaults to an engine keyed by the mesh id. */
  engine?: SyncEngine
  now?: () => number
}

export interface DaemonEvents {
  /** Emitted after every engine step; status consumers (control socket) read `status()` then. */
  change: []
}

export interface DaemonStatus {
  name: string
  key: string
  player: { busName: string, identity: string } | null
  /**
   * `offsetUncertaintyMs`: the clock offset is right within ± this (half the quickest round trip:
   * a lopsided path can hide that much); `clockSynced`: the peer says its OS keeps its clock in
   * step with time servers (null: it did not say).
   */
  peers: Array<{ name: string, key: string, rttMs: number | null, offsetMs: number | null, offsetUncertaintyMs: number | null, clockSynced: boolean | null, direct: boolean }>
  /** This machine's OS keeps its clock in step with time servers (null: cannot tell). */
  clockSynced: boolean | null
  /** Key of the leader (author of the winning event, while present) and its display name. */
  leader: string | null
  leaderName: string | null
  playback: { playing: boolean, positionMs: number | null, media: string | null } | null
  errorMs: number | null
  /** How far ahead this player runs for a late sound path (--output-delay), ms; 0 when none. */
  outputDelayMs: number
  /** Managed room: whether this node is an operator; null in an ordinary room. */
  managed: { operator: boolean } | null
}

export class Daemon extends EventEmitter<DaemonEvents> {
  readonly name: string
  private readonly mesh: Mesh
  private readonly watcher: PlayerWatcher
  private readonly logger: Logger
  private readonly engine: SyncEngine
  private readonly now: () => number
  private readonly notifier: Notifier | null
  private readonly osd: boolean
  private readonly outputDelayMs: number
  private readonly gate: OperatorGate | null
  /** Peers already warned about for unsigned or forged state (said once each). */
  private readonly refusedFrom = new Set<PeerId>()
  private readonly names = new Map<PeerId, string>()
  /** What the OS says of this machine's wall clock (clock-synced.ts); null: cannot tell. */
  private clockSynced: boolean | null = null
  private readonly wallNow: () => number
  /** While the OS says the wall clock is synced: looks again at our clock against it (a step, a sleep). */
  private osClockTimer: NodeJS.Timeout | null = null
  private player: Player | null = null
  /** What was for the video while no player was attached (at most OSD_PENDING_MAX, newest last). */
  private pendingOnScreen: Array<{ text: string, atMs: number }> = []
  private readonly driver: EngineDriver
  private aloneTimer: NodeJS.Timeout | null = null
  private summaryTimer: NodeJS.Timeout | null = null
  private closing = false
  /** The last file we opened to follow the room (never retried in a loop). */
  private openedUrl: string | null = null
  /** Actions the viewer made in the player so far: commands issued before the latest are moot. */
  private userActions = 0
  /** The media we last told the user to open (said once per file). */
  private toldToOpen: string | null = null
  private readonly chat = new ChatRate()
  private readonly seeks = new SeekBursts()
  private seekTimer: NodeJS.Timeout | null = null
  private readonly memory: PlayerMemory | null
  private saveTimer: NodeJS.Timeout | null = null
  /** Whether each player answers its reads, to tell the user when one stops and starts again. */
  private readonly silences = new WeakMap<Player, PlayerSilence>()

  constructor (opts: DaemonOptions) {
    super()
    this.name = opts.name
    this.mesh = opts.mesh
    this.watcher = opts.watcher
    this.logger = opts.logger
    this.now = opts.now ?? processNow
    this.notifier = opts.notifier ?? null
    this.osd = opts.osd ?? false
    this.outputDelayMs = opts.outputDelayMs ?? 0
    this.wallNow = opts.wallNow ?? Date.now
    this.gate = opts.gate ?? null
    this.memory = opts.memory ?? null
    this.engine = opts.engine ?? new SyncEngine({ nodeId: opts.mesh.id, outputDelayMs: this.outputDelayMs, canControl: this.gate?.isOperator ?? true })
    this.names.set(opts.mesh.id, opts.name)
    const trace = opts.trace ?? null
    this.driver = new EngineDriver({
      engine: this.engine,
      now: this.now,
      perform: action => this.perform(action),
      read: async () => await this.read(),
      tellsPlayAndSeek: () => this.player?.tellsPlayAndSeek?.() === true,
      commandWork: cmd => this.commandWork(cmd),
      onDropped: () => this.logger.warn('the player is not answering; dropping a command'),
      trace: trace === null ? undefined : (nowMs, input, actions) => trace(JSON.stringify({ nowMs, input, actions })),
      stepped: () => this.emit('change')
    })
  }

  async start (): Promise<void> {
    this.mesh.on('peer-up', info => {
      if (this.aloneTimer !== null) clearTimeout(this.aloneTimer)
      this.aloneTimer = null
      this.names.set(info.id, info.name)
      this.logger.event(`${info.name} joined`, { peer: shortId(info.id) })
      this.onScreen(`${info.name} joined`)
      this.step({ type: 'peer-up', peer: info.id, name: info.name })
    })
    this.mesh.on('peer-down', (peer, reason) => {
      const who = this.nameOf(peer)
      if (reason === 'left') this.logger.event(`${who} left`, { peer: shortId(peer) })
      else this.logger.warn(`lost contact with ${who}`, { peer: shortId(peer) })
      this.onScreen(reason === 'left' ? `${who} left` : `lost contact with ${who}`)
      this.step({ type: 'peer-down', peer, reason })
      // Kept to present peers: a member reconnecting under ever new keys cannot grow it.
      if (peer !== this.mesh.id) this.names.delete(peer)
    })
    this.mesh.on('message', ({ from, author, payload }) => {
      let msg
      try {
        msg = decodeSyncMessage(payload)
      } catch (err) {
        const why = isWatchmeshError(err) ? err.message : String(err)
        this.refused(from, author, why)
        return
      }
      if (msg.type === 'chat') {
        this.hearChat(author, msg.text)
        return
      }
      if (this.gate !== null) {
        const gated = this.gate.incoming(msg)
        if ('refused' in gated) return this.refuseControl(author, gated.refused)
        msg = gated.msg
      } else if (msg.type === 'operated') {
        return
      }
      this.step({ type: 'message', from, author, msg })
    })
    this.mesh.on('clock-sample', s => this.step({ type: 'clock-sample', ...s }))
    this.mesh.on('log', entry => this.relayLog(entry))

    this.watcher.on('log', entry => this.relayLog(entry))
    this.watcher.on('attach', player => { void this.attach(player) })
    this.watcher.on('detach', player => {
      if (this.player !== player) return
      this.rememberPlayer(player)
      this.player = null
      this.driver.stopPolling()
      this.logger.warn(`player ${player.identity} went away; waiting for it to come back`)
      this.step({ type: 'player-detached' })
    })

    // The player and the room are looked for at once: neither needs the other, and a restarted
    // daemon is back in step the sooner (the engine takes a player and peers in either order).
    this.logger.event('looking for the room on the DHT...')
    // Awaited below; parked meanwhile, should the player's start fail first.
    const meshStarted = this.mesh.start()
    meshStarted.catch(() => {})
    await this.watcher.start()
    const notFollowing = this.watcher.notFollowing
    if (notFollowing !== null) this.logger.warn(`${notFollowing}; waiting for a player`)
    await meshStarted
    if (this.closing) return
    this.logger.event(`joined the room as ${this.name}; waiting for others`, { key: shortId(this.mesh.id) })
    if (this.memory !== null) {
      this.saveTimer = setInterval(() => {
        if (this.player !== null) this.rememberPlayer(this.player)
      }, SAVE_INTERVAL_MS)
      this.saveTimer.unref()
    }
    if (this.logger.debugShown) {
      this.summaryTimer = setInterval(() => this.summarise(), SUMMARY_INTERVAL_MS)
      this.summaryTimer.unref()
    }
    if (this.mesh.peers().length === 0) {
      this.aloneTimer = setTimeout(() => {
        this.aloneTimer = null
        this.logger.warn('nobody else has joined yet. If your friends are already in the room, check that everyone typed exactly the same passphrase (case and spaces count).')
      }, ALONE_HINT_MS)
      this.aloneTimer.unref()
    }
  }

  async close (): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.driver.close()
    if (this.aloneTimer !== null) clearTimeout(this.aloneTimer)
    if (this.summaryTimer !== null) clearInterval(this.summaryTimer)
    if (this.osClockTimer !== null) clearInterval(this.osClockTimer)
    if (this.seekTimer !== null) clearTimeout(this.seekTimer)
    if (this.saveTimer !== null) clearInterval(this.saveTimer)
    if (this.player !== null) this.rememberPlayer(this.player)
    // Every write asked for so far, done before the process may end.
    await this.memory?.save()
    await this.mesh.close()
    await this.watcher.close()
    this.notifier?.close()
  }

  status (): DaemonStatus {
    const snap: EngineSnapshot = this.engine.snapshot(this.now())
    const byPeer = new Map(snap.peers.map(p => [p.peer, p]))
    const peers = this.mesh.peers().map(p => ({
      name: p.name,
      key: p.id,
      rttMs: byPeer.get(p.id)?.rttMs ?? p.rttMs,
      offsetMs: byPeer.get(p.id)?.offsetMs ?? null,
      offsetUncertaintyMs: byPeer.get(p.id)?.offsetUncertaintyMs ?? null,
      clockSynced: byPeer.get(p.id)?.clockSynced ?? null,
      direct: p.direct
    }))
    return {
      name: this.name,
      key: this.mesh.id,
      player: this.player === null ? null : { busName: this.player.busName, identity: this.player.identity },
      peers,
      leader: snap.leader,
      leaderName: snap.leader === null ? null : this.nameOf(snap.leader),
      playback: snap.state === null
        ? null
        : { playing: snap.state.playing, positionMs: snap.expectedPositionMs, media: snap.state.media?.name ?? null },
      errorMs: snap.errorMs,
      outputDelayMs: this.outputDelayMs,
      clockSynced: this.clockSynced,
      managed: this.gate === null ? null : { operator: this.gate.isOperator }
    }
  }

  /**
   * What the OS says of this machine's wall clock (clock-synced.ts). The engine tells every direct
   * peer, and while synced, how our clock sits against the wall clock: where both ends are synced,
   * offsets are narrowed by it (peer-clocks.ts). That is looked at again every OS_CLOCK_CHECK_MS:
   * a step of the wall clock or a sleep moves it.
   */
  learnClockSynced (synced: boolean | null): void {
    if (synced === null || this.closing) return
    this.clockSynced = synced
    const tell = (): void => this.step({ type: 'os-clock', synced, clockMinusWallMs: this.now() - this.wallNow() })
    tell()
    if (this.osClockTimer !== null) clearInterval(this.osClockTimer)
    this.osClockTimer = null
    if (!synced) return
    this.osClockTimer = setInterval(tell, OS_CLOCK_CHECK_MS)
    this.osClockTimer.unref()
  }

  /**
   * Says `text` to the room (`watchmesh say`, a line typed into the join terminal): cleaned,
   * rate-limited, shown here and broadcast. Throws BAD_USAGE or RATE_LIMITED.
   */
  say (raw: string): string {
    const text = this.chat.outgoing(raw, this.now())
    this.mesh.broadcast(encodeSyncMessage({ type: 'chat', text }))
    this.logger.event(`you: ${text}`, { chat: true })
    return text
  }

  /** A member sent playback state the room's rule refuses: dropped, and said once per member. */
  private refuseControl (author: PeerId, why: string): void {
    const first = !this.refusedFrom.has(author)
    if (first && this.refusedFrom.size < MAX_REFUSED_PEERS) this.refusedFrom.add(author)
    const text = `ignored ${this.nameOf(author)}'s playback control: ${why}`
    if (first) this.logger.warn(text, { peer: shortId(author) })
    else this.logger.debug(text, { peer: shortId(author) })
  }

  private hearChat (author: PeerId, raw: string): void {
    const text = this.chat.incoming(author, raw, this.now())
    if (text === null) {
      this.logger.debug(`dropped a chat line from ${this.nameOf(author)} (empty, or over the rate)`, { peer: shortId(author) })
      return
    }
    const line = `${this.nameOf(author)}: ${text}`
    this.logger.event(line, { chat: true, peer: shortId(author) })
    this.desktop(line)
    this.onScreen(line)
  }

  /**
   * Narrates an action: seeks are held and told once per burst (scrubbing), anything else at once,
   * after the burst of the same person that came before it.
   */
  private narrate (who: PeerId, kind: UserEvent['kind'], positionMs: number, media: Media | null, rate: number | null): void {
    if (kind === 'seek') {
      this.seeks.seek(who, positionMs, this.now())
      this.armSeekTimer()
      return
    }
    const burst = this.seeks.flush(who)
    if (burst !== null) this.tellAction(burst.who, 'seek', burst.positionMs, null, null)
    this.tellAction(who, kind, positionMs, media, rate)
  }

  private tellAction (who: PeerId, kind: UserEvent['kind'], positionMs: number, media: Media | null, rate: number | null): void {
    const text = describeAction(who === SELF ? 'you' : this.nameOf(who), kind, positionMs, media, rate)
    this.logger.event(text)
    if (who === SELF) return
    this.desktop(text)
    this.onScreen(text)
  }

  private armSeekTimer (): void {
    if (this.seekTimer !== null) clearTimeout(this.seekTimer)
    const dueMs = this.seeks.nextDueMs()
    if (dueMs === null || this.closing) return
    this.seekTimer = setTimeout(() => {
      this.seekTimer = null
      for (const burst of this.seeks.settled(this.now())) this.tellAction(burst.who, 'seek', burst.positionMs, null, null)
      this.armSeekTimer()
    }, Math.max(0, Math.ceil(dueMs - this.now())))
  }

  /** One line: who is here (RTT, clock offset) and how far our player is from the timeline. */
  private summarise (): void {
    const s = this.status()
    const peers = s.peers.map(p => `${p.name} (rtt ${formatMs(p.rttMs)}, offset ${formatMs(p.offsetMs)}${p.direct ? '' : ', relayed'})`)
    const where = s.playback === null ? 'nothing played yet' : `${s.playback.playing ? 'playing' : 'paused'}${s.errorMs === null ? '' : `, skew ${formatMs(s.errorMs)}`}`
    this.logger.debug(`in the room: ${peers.length === 0 ? 'nobody else' : peers.join(', ')}; ${where}`)
  }

  /** Display name of a node: its announced name, else a short key. */
  nameOf (id: PeerId): string {
    return this.names.get(id) ?? shortId(id)
  }

  private async attach (player: Player): Promise<void> {
    // Read until it answers: a player that misses the call deadline at attach (it, or this
    // daemon, froze for a few seconds) is still the one the watcher follows, and the watcher says
    // nothing more until it goes away, so giving up here would leave the viewer unsynced for good.
    let state = await this.readUntilAnswered(player)
    const until = this.now() + PLAYER_LOAD_GRACE_MS
    while (state !== null && (state.media === null || state.media.lengthMs === null) && this.now() < until) {
      await sleep(PLAYER_LOAD_POLL_MS)
      state = await this.readUntilAnswered(player)
    }
    // It may have gone, or the daemon closed, while the last read was on its way.
    if (state === null || this.closing || this.watcher.current !== player) return
    this.player = player
    const caps = player.capabilities()
    this.logger.event(`following ${player.identity} (${player.busName})`, { media: state.media?.name })
    player.on('user', ev => this.onUser(player, ev))
    // A scheduled start is timed from the frame its seek landed on: read it as soon as it is there.
    player.on('landed', () => { if (this.player === player) this.driver.schedulePoll(0) })
    player.on('log', entry => this.relayLog(entry))
    const observed = this.observe(state)
    this.showPendingOnScreen()
    const kind = playerKind(player.busName, player.identity)
    const remembered = this.memory?.get(kind)
    if (remembered !== undefined) this.logger.debug(`starting from what was learnt of ${kind} before: start latency ${remembered.startLatencyMs.toFixed(1)} ms, reading lag ${remembered.readingLagMs.toFixed(1)} ms, seek lead ${remembered.seekLeadMs.toFixed(1)} ms`)
    // Nothing learnt of this kind yet: what is known of it (VLC's stale readings), not mpv's guesses.
    const learnt = remembered ?? priorsFor(player.busName)
    this.step({
      type: 'player-attached',
      abilities: { canSeek: caps.canSeek, canPause: caps.canPause, rateMin: caps.rateMin, rateMax: caps.rateMax, rateTakesEffectMs: caps.rateTakesEffectMs ?? 0, nudgeable: caps.nudgeable ?? true },
      observed,
      learnt
    })
    this.driver.startPolling()
  }

  /**
   * Reads a player being attached, again every ATTACH_RETRY_MS while it does not answer; null once
   * it is no longer the one the watcher follows (gone, replaced) or the daemon closes.
   */
  private async readUntilAnswered (player: Player): Promise<PlayerState | null> {
    for (;;) {
      if (this.closing || this.watcher.current !== player) return null
      try {
        const state = await player.state()
        this.tellSilence(this.silenceOf(player).answered(this.now()))
        return state
      } catch (err) {
        // Gone: the watcher says so (detach) and attaches it again when it is back.
        if (isWatchmeshError(err, 'PLAYER_GONE')) return null
        this.tellSilence(this.silenceOf(player).failed(this.now(), err, `trying again every ${ATTACH_RETRY_MS / 1000} s`))
      }
      await sleep(ATTACH_RETRY_MS)
    }
  }

  private silenceOf (player: Player): PlayerSilence {
    let silence = this.silences.get(player)
    if (silence === undefined) {
      silence = new PlayerSilence(player.identity)
      this.silences.set(player, silence)
    }
    return silence
  }

  private tellSilence (line: SilenceLine | null): void {
    if (line === null) return
    if (line.level === 'warn') this.logger.warn(line.msg)
    else if (line.level === 'event') this.logger.event(line.msg)
    else this.logger.debug(line.msg)
  }

  /** Keeps what the engine learnt of `player` for its kind, and writes it out (rarely: see player-memory.ts). */
  private rememberPlayer (player: Player): void {
    const memory = this.memory
    if (memory === null) return
    memory.remember(playerKind(player.busName, player.identity), this.engine.learntPlayer)
    void memory.save()
  }

  private onUser (player: Player, ev: UserEvent): void {
    if (this.player !== player) return
    this.userActions++
    const observed = this.observe(ev.state)
    // A seek is told once its burst settles, so it can be told where the room was sent: others
    // are told the published position, which adds what a fresh reading lags (59.99 s read, 60 s
    // published), and everyone should read the same second.
    if (ev.kind !== 'seek') this.narrate(SELF, ev.kind, observed.positionMs, observed.media, observed.rate)
    const before = this.engine.snapshot(this.now()).state
    this.step({ type: 'user', action: { kind: ev.kind, observed } })
    if (ev.kind === 'seek') {
      const after = this.engine.snapshot(this.now()).state
      const published = after !== null && (before === null || after.stamp.lamport !== before.stamp.lamport || after.stamp.nodeId !== before.stamp.nodeId)
      this.narrate(SELF, 'seek', published ? after.positionMs : observed.positionMs, observed.media, observed.rate)
    }
    this.driver.schedulePoll(POLL_AFTER_CHANGE_MS)
  }

  /** Log lines from the layers: `info` is an event worth showing, `debug` only with --verbose. */
  private relayLog ({ level, msg, peer }: { level: 'info' | 'warn' | 'debug', msg: string, peer?: PeerId }): void {
    const fields = { peer: peer === undefined ? undefined : shortId(peer) }
    if (level === 'warn') this.logger.warn(msg, fields)
    else if (level === 'info') this.logger.event(msg, fields)
    else this.logger.debug(msg, fields)
  }

  /** A reading of the player followed now (null: none, it changed meanwhile, or the read failed). */
  private async read (): Promise<PlayerObservation | null> {
    const player = this.player
    if (player === null || this.closing) return null
    try {
      const state = await player.state()
      this.tellSilence(this.silenceOf(player).answered(this.now()))
      return this.player === player ? this.observe(state) : null
    } catch (err) {
      if (!isWatchmeshError(err, 'PLAYER_GONE')) this.tellSilence(this.silenceOf(player).failed(this.now(), err, 'still following it, reading it again'))
      return null
    }
  }

  private observe (state: PlayerState): PlayerObservation {
    const media: Media | null = state.media === null
      ? null
      : { id: state.media.id, name: state.media.name, lengthMs: state.media.lengthMs }
    const observed: PlayerObservation = { playing: state.playing, positionMs: state.positionMs, atMs: state.atMs, rate: state.rate, media }
    if (state.seeking === true) observed.seeking = true
    if (state.uncertaintyMs !== undefined) observed.uncertaintyMs = state.uncertaintyMs
    return observed
  }

  /** Feeds one input to the engine; the driver carries out what it asks for. */
  private step (input: Input): void {
    if (this.closing) return
    this.driver.step(input)
  }

  /** Messages go to the mesh, notices to the user; the driver runs wakes and player commands. */
  private perform (action: Exclude<Action, { type: 'wake' } | { type: 'player' }>): void {
    switch (action.type) {
      case 'broadcast': {
        const bytes = this.encodeOut(action.msg)
        if (bytes !== null) this.mesh.broadcast(bytes)
        break
      }
      case 'send': {
        const bytes = this.encodeOut(action.msg)
        if (bytes !== null) this.mesh.send(action.to, bytes)
        break
      }
      case 'notice':
        this.tell(action.notice)
        break
    }
  }

  /** A message as this node may send it (signed by the operator in a managed room); null: not at all. */
  private encodeOut (msg: SyncMessage): Uint8Array | null {
    return this.gate === null ? encodeSyncMessage(msg) : this.gate.outgoing(msg)
  }

  /** One command against the player followed now; it does nothing if that player is gone by then. */
  private commandWork (cmd: PlayerCommand): (() => Promise<void>) | null {
    const player = this.player
    if (player === null) return null
    // A play, pause or seek decided before the viewer's latest action is moot: sent after it, it
    // would undo what they just did (the engine puts the player where the action says, if needed).
    // A rate command is kept: the engine counts on the rate it set.
    const userActions = this.userActions
    const moot = (): boolean => cmd.op !== 'rate' && this.userActions !== userActions
    return async () => {
      try {
        if (this.player !== player || moot()) return
        switch (cmd.op) {
          case 'pause':
            await player.pause()
            if (moot()) return
            await player.seek(cmd.positionMs)
            break
          case 'play': await player.play(); break
          case 'seek': await player.seek(cmd.positionMs); break
          case 'rate': await player.setRate(cmd.rate); break
        }
        this.logger.debug(`player ${cmd.op}`, { positionMs: 'positionMs' in cmd ? Math.round(cmd.positionMs) : undefined })
      } catch (err) {
        this.logger.warn(`player command ${cmd.op} failed: ${isWatchmeshError(err) ? err.message : String(err)}`)
      }
    }
  }

  /**
   * Someone plays another file than we do. If a file of that name sits beside ours (the next
   * episode in the same folder), open it so that this viewer follows; otherwise say what to open.
   * The engine drives the player once it shows the same media.
   */
  private async followMedia (peer: PeerId, theirs: Media | null, ours: Media | null): Promise<void> {
    const player = this.player
    const text = `${this.nameOf(peer)} is playing ${theirs?.name ?? 'nothing'}, you ${ours?.name ?? 'nothing'}`
    const url = player?.open === undefined || theirs === null ? null : await siblingUrl(player, theirs.name)
    if (url !== null && url === this.openedUrl) {
      this.logger.debug(`${text} (already opening it)`)
      return
    }
    if (player === null || url === null) {
      // Once per file: every new state while we lack it would say the same again.
      const key = theirs?.id ?? ''
      if (this.toldToOpen === key) return
      this.toldToOpen = key
      this.logger.warn(`${text}: open ${theirs?.name ?? 'the same file'} to follow`)
      this.desktop(text)
      this.onScreen(`${text}: open ${theirs?.name ?? 'the same file'} to follow`)
      return
    }
    this.openedUrl = url
    this.logger.event(`${text}: opening ${theirs?.name ?? ''} from the same folder`)
    try {
      await player.open?.(url)
    } catch (err) {
      this.logger.warn(`could not open ${url}: ${isWatchmeshError(err) ? err.message : String(err)}`)
      // No answer: the player may never have opened it, so the next time the room's file is told
      // it is asked again (otherwise it would count as "already opening" for good).
      if (isWatchmeshError(err, 'PLAYER_NOT_ANSWERING') && this.openedUrl === url) this.openedUrl = null
    }
  }

  /**
   * An invalid message changes nothing in the room; its author answers for it (the mesh drops a
   * direct peer after a small budget). A line each only with --verbose: a stream of them would
   * otherwise be a way to write our log.
   */
  private refused (from: PeerId, author: PeerId, why: string): void {
    this.logger.debug(`ignored a message from ${this.nameOf(author)}: ${why}`, { peer: shortId(author) })
    this.mesh.reportInvalid(from, author, why)
  }

  private desktop (text: string): void {
    const notifier = this.notifier
    if (notifier === null) return
    void notifier.notify('watchmesh', text).then(shown => {
      if (!shown) this.logger.debug('desktop notification failed (no notification service on the session bus?)')
    })
  }

  /**
   * What others did, on the video too (mpv's OSD), unless --no-osd. Only ever called for other
   * people's actions and the room's news, never for the viewer's own. Names and file names come
   * from peers: the whole line is sanitized before the player sees it.
   */
  private onScreen (text: string): void {
    if (!this.osd) return
    const player = this.player
    if (player === null) {
      this.pendingOnScreen = [...this.pendingOnScreen, { text, atMs: this.now() }].slice(-OSD_PENDING_MAX)
      return
    }
    if (player.showText === undefined) return
    player.showText(sanitizeText(text, { maxChars: OSD_MAX_CHARS, ellipsis: true }), OSD_DURATION_MS).catch((err: unknown) => {
      this.logger.debug(`could not show a message on the video: ${isWatchmeshError(err) ? err.message : String(err)}`)
    })
  }

  /** The news told while no player was there, on the video of the one that just attached. */
  private showPendingOnScreen (): void {
    const nowMs = this.now()
    const fresh = this.pendingOnScreen.filter(p => nowMs - p.atMs <= OSD_PENDING_MS)
    this.pendingOnScreen = []
    // One line: each show-text replaces the one before on mpv's screen.
    if (fresh.length > 0) this.onScreen(fresh.map(p => p.text).join(OSD_JOINER))
  }

  private tell (notice: Notice): void {
    switch (notice.kind) {
      case 'remote-action':
        this.narrate(notice.author, notice.action, notice.positionMs, notice.media, notice.rate)
        break
      case 'media-mismatch':
        void this.followMedia(notice.peer, notice.theirs, notice.ours)
        break
      case 'media-alias':
        this.logger.event(`${this.nameOf(notice.peer)} is playing ${notice.theirs.name}, you ${notice.ours.name}: the same length, so taken as the same film`)
        break
      case 'leader':
        this.logger.debug(`leader is now ${notice.leader === null ? 'nobody' : this.nameOf(notice.leader)}`)
        break
      case 'correction':
        this.logger.debug(`corrected ${notice.errorMs.toFixed(1)} ms of drift by ${notice.how}`)
        break
      case 'waiting': {
        const who = notice.peers.map(peer => this.nameOf(peer)).join(', ')
        const text = `waiting for ${who} to open ${notice.media.name} (at most ${Math.round((notice.untilMs - this.now()) / 1000)} s)`
        this.logger.event(text)
        this.desktop(text)
        this.onScreen(text)
        break
      }
      case 'wait-over':
        this.logger.event(notice.timedOut
          ? `stopped waiting for ${notice.peers.map(peer => this.nameOf(peer)).join(', ')}; resuming`
          : 'everyone has the file; resuming')
        break
      case 'undone': {
        const text = `only operators control playback in this room: your ${ACTION_NOUN[notice.action]} was undone`
        this.logger.warn(text)
        this.desktop(text)
        this.onScreen(text)
        break
      }
      case 'rejected':
        this.refused(notice.peer, notice.peer, notice.reason)
        break
    }
  }
}

/** A speed as a person set it: 1.25x, 2x (a player may report 1.2500000001). */
export function formatRate (rate: number): string {
  return `${Number(rate.toFixed(2))}x`
}

export function describeAction (who: string, kind: UserEvent['kind'], positionMs: number, media: Media | null, rate: number | null): string {
  const at = formatTimecode(positionMs)
  switch (kind) {
    case 'play': return `${who} resumed at ${at}`
    case 'pause': return `${who} paused at ${at}`
    // To the nearest second, as a seek bar lands: a coarse player's seek is published where it
    // will play (VLC: 59.92 s for a seek to 60 s, the picture gets there 80 ms later).
    case 'seek': return `${who} jumped to ${formatTimecode(Math.round(positionMs / 1000) * 1000)}`
    case 'rate': return rate === null ? `${who} changed the speed` : `${who} set the speed to ${formatRate(rate)}`
    case 'media': return `${who} switched to ${media?.name ?? 'another file'}`
  }
}
