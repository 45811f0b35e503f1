/**
 * The mesh on Hyperswarm: joins the room's topic, runs one PeerSession per connection, and turns
 * admitted sessions into peers, messages and clock samples (the `Mesh` contract in types.ts).
 *
 * Peers. One ready session per remote key. A second connection from the same key (hyperswarm
 * swaps duplicates; a restarted peer dials again) takes over: if its hello carries the same
 * session id it is the same process and nothing is emitted; a new session id means the peer
 * restarted, so `peer-down lost` then `peer-up`. While a replacement is still proving itself,
 * the old one's peer-down waits for it, so a duplicate never flaps the peer down and up.
 *
 * Broadcasts are signed by our swarm keypair. A receiver takes them only from members (a direct
 * peer, or a key one of our direct peers lists among its own: someone admitted it), within a
 * budget per author (author-budget.ts), verifies the signature, delivers once per
 * (author, session, seq), and relays to each other direct peer that is not known to be
 * connected to the author: every node tells its peers who its direct peers are (`neighbours`),
 * so a full mesh relays nothing and a partial mesh relays exactly around the missing links.
 * Urgent broadcasts (control events, told by the `urgent` option) are the exception: whoever gets
 * one straight from its author relays it once to every other direct peer, so an event whose
 * packet was lost on one link arrives over a second path one hop later instead of after that
 * link's retransmission timeout (~240 ms more, measured). Each copy of an urgent broadcast also goes
 * as a datagram beside its stream (peer-session.ts), which a lost packet of the stream does not
 * hold back: the one path of a two-viewer room too. Copies stop at the receivers' dedup.
 * No relay can forge or alter what it passes on.
 *
 * Lost peers (not those that said goodbye) are looked for again with a backed-off, jittered
 * topic refresh (backoff.ts); one that dials us first while our dial to it still waits on its
 * dead self (a restart) is taken at once (`screen`).
 */
import { EventEmitter } from 'node:events'
import DHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import sodium from 'sodium-universal'
import { WatchmeshError } from '../errors.js'
import type { BootstrapNode } from './bootstrap.js'
import { formatBootstrap } from './bootstrap.js'
import { RECONNECT_GIVE_UP_MS, reconnectDelayMs, wokeFromSuspend } from './backoff.js'
import { resolveLimits } from './limits.js'
import { nodeSeedForRoom } from './keys.js'
import { MAX_RELAY_HOPS, PeerSession } from './peer-session.js'
import type { SessionOwner } from './peer-session.js'
import { SeenSet } from './seen.js'
import { SeenBroadcasts, TOO_OLD } from './seen-broadcasts.js'
import { AuthorBudgets } from './author-budget.js'
import { MAX_UNPROVEN_CONNECTIONS, UnprovenConnections } from './unproven.js'
import { RefusalLog } from './refusals.js'
import { sanitizeName, shortId } from './names.js'
import type { Mesh, MeshEvents, MeshLimits, PeerId, PeerInfo, RoomKeys } from './types.js'
import { SESSION_BYTES, SIGNATURE_BYTES, broadcastSignedBytes } from './wire.js'
import type { BroadcastFrame } from './wire.js'
import { processNow } from '../clock.js'

export { parseBootstrap, formatBootstrap } from './bootstrap.js'
export type { BootstrapNode } from './bootstrap.js'

export interface SwarmMeshOptions {
  keys: RoomKeys
  /** Display name sent to peers (sanitised and bounded here too). */
  name: string
  /** 32 bytes -> the swarm keypair in this room (keys.ts), so a restarted node is recognised; undefined: a fresh one. */
  seed?: Uint8Array
  /** Private DHT bootstrap nodes; undefined: the public Hyperswarm DHT. */
  bootstrap?: BootstrapNode[]
  /** Address the DHT binds to, e.g. '127.0.0.1' for a loopback testnet (docs/facts.md). */
  host?: string
  /** The DHT node is reachable by every peer directly (a private network): no firewall to detect. */
  reachable?: boolean
  limits?: Partial<MeshLimits>
  /** Return true to refuse a peer: tests use it to cut one link of the mesh. */
  firewall?: (peer: PeerId) => boolean
  /** Monotonic clock in ms; tests may inject one. */
  now?: () => number
  /** Randomness in [0, 1) for jitter; tests may inject one. */
  random?: () => number
  /**
   * Payloads that must not wait on one link's retransmission (control events): relayed once by
   * every direct receiver to all its other peers. Undefined: none (only around missing links).
   */
  urgent?: (payload: Uint8Array) => boolean
}

/**
 * Nodes that join together look each other up before their announcements land and would miss
 * each other until hyperswarm's 10-minute rediscovery; more lookups shortly after closing that
 * race (docs/facts.md: one refresh a few seconds later gave 16 processes a full mesh in 4.3-6.5 s).
 * The first catches nodes that started within a second of us, the second the stragglers.
 */
const JOIN_RACE_REFRESHES_MS = [1000, 5000] as const
/** Spread those refreshes so a room started at once does not look up in lockstep. */
const JOIN_RACE_JITTER_MS = 500

/** Neighbour lists go out this long after the last change: mesh formation changes them in bursts. */
const NEIGHBOURS_DEBOUNCE_MS = 250

/** A peer heard only through relays is listed in peers() this long after its last broadcast. */
const INDIRECT_PEER_TTL_MS = 30_000
/** Indirect peers remembered at most (authors of verified broadcasts, so members only). */
const MAX_INDIRECT_PEERS = 256

/** On close, how long the goodbyes get to reach the peers before the swarm is torn down. */
const BYE_FLUSH_MS = 500
/**
 * Leaving unannounces the topic on the DHT; with the DHT out of reach those queries only time out
 * (~6 s measured with the bootstrap node's port closed), so a leave waits at most this long for them.
 */
const UNANNOUNCE_GRACE_MS = 1500

/**
 * Author sessions whose broadcasts are remembered for dedup: every member's current session in a
 * full room (32 members), with room for restarts; at most ~13 KB each (128 digests,
 * seen-broadcasts.ts), so ~1.6 MB in all whatever peers send.
 */
const MAX_SEEN_SESSIONS = 128

/** Authors whose relayed broadcasts were invalid, not delivered again for a while; bounded. */
const MAX_DISTRUSTED_AUTHORS = 256
/** How long a distrusted author's broadcasts are dropped: a restart of a buggy peer gets back in. */
const DISTRUST_MS = 10 * 60_000

/**
 * Authors that only one of our direct peers lists (not direct to us, vouched for by nobody else)
 * share one budget per voucher, worth this many authors. A member can list keys it made up in its
 * neighbour list (up to maxPeers) and sign with them; each would otherwise bring a full author's
 * budget, multiplying the member's by 32. Honest authors reached through a single neighbour are
 * the few links a room misses, a few broadcasts a second each: 4 authors' worth (80/s) is ample.
 */
const SOLE_VOUCHER_AUTHORS = 4

/** Keys refused after failing admission; bounded so a key-spraying stranger cannot grow it. */
const MAX_REJECTED_PEERS = 1024

/** Hyperswarm's own bound counts connections still proving themselves, beside the admitted peers. */
const MAX_UNADMITTED_CONNECTIONS = MAX_UNPROVEN_CONNECTIONS
/** Refusal summaries are checked this often; each says at most one interval (a minute) of refusals. */
const REFUSAL_CHECK_MS = 10_000

export class SwarmMesh extends EventEmitter<MeshEvents> implements Mesh {
  readonly id: PeerId
  readonly limits: MeshLimits

  private readonly keys: RoomKeys
  private readonly keyPair: DHT.KeyPair
  private readonly name: string
  private readonly bootstrap: BootstrapNode[] | undefined
  private readonly host: string | undefined
  private readonly reachable: boolean
  private readonly firewall: ((peer: PeerId) => boolean) | undefined
  private readonly now: () => number
  private readonly random: () => number
  private readonly urgent: (payload: Uint8Array) => boolean
  private readonly session = new Uint8Array(SESSION_BYTES)
  private readonly owner: SessionOwner

  private swarm: Hyperswarm | null = null
  private discovery: Hyperswarm.PeerDiscoverySession | null = null
  private readonly sessions = new Set<PeerSession>()
  /** The one ready session per peer. */
  private readonly ready = new Map<PeerId, PeerSession>()
  /** Peers whose ready session closed while a replacement was still proving itself. */
  private readonly limbo = new Map<PeerId, { reason: 'left' | 'lost', remoteSession: string | null }>()
  /** Lost peers we are still looking for, with when they were lost. */
  private readonly lost = new Map<PeerId, number>()
  /** Authors heard only through relays, with when they were last heard. */
  private readonly indirect = new Map<PeerId, number>()
  private readonly seen = new SeenBroadcasts(MAX_SEEN_SESSIONS)
  private readonly rejected = new SeenSet(MAX_REJECTED_PEERS)
  private readonly unproven = new UnprovenConnections<PeerSession>()
  /** Our dials not open yet, per peer (hyperswarm dials a key once at a time). */
  private readonly dialing = new Map<PeerId, DHT.SecretStream>()
  private readonly budgets: AuthorBudgets
  /** Per direct peer: the budget of the authors only it vouches for (SOLE_VOUCHER_AUTHORS). */
  private readonly voucherBudgets: AuthorBudgets
  /** Author -> until when its broadcasts are dropped (invalid payloads it authored). */
  private readonly distrusted = new Map<PeerId, number>()
  private readonly refusals = new RefusalLog()
  private refusalTimer: NodeJS.Timeout | null = null
  private seq = 0
  private pingTimer: NodeJS.Timeout | null = null
  /** When the ping timer last ran: a long gap means this process was suspended. */
  private lastPingTickMs = 0
  private refreshTimer: NodeJS.Timeout | null = null
  private reconnectTimer: NodeJS.Timeout | null = null
  private reconnectAttempt = 0
  private neighboursTimer: NodeJS.Timeout | null = null
  private started = false
  private closing: Promise<void> | null = null

  constructor (opts: SwarmMeshOptions) {
    super()
    if (opts.seed !== undefined && opts.seed.byteLength !== 32) throw WatchmeshError.badUsage('the keypair seed must be 32 bytes')
    this.keys = opts.keys
    this.keyPair = DHT.keyPair(opts.seed === undefined ? undefined : nodeSeedForRoom(opts.seed, opts.keys))
    this.id = hex(this.keyPair.publicKey)
    this.name = sanitizeName(opts.name, shortId(this.id))
    this.bootstrap = opts.bootstrap
    this.host = opts.host
    this.reachable = opts.reachable === true
    this.firewall = opts.firewall
    this.limits = resolveLimits(opts.limits)
    this.budgets = new AuthorBudgets(this.limits.maxBroadcastsPerAuthorPerSec, this.limits.authorBurst)
    this.voucherBudgets = new AuthorBudgets(this.limits.maxBroadcastsPerAuthorPerSec * SOLE_VOUCHER_AUTHORS, this.limits.authorBurst * SOLE_VOUCHER_AUTHORS)
    this.now = opts.now ?? processNow
    this.random = opts.random ?? Math.random
    this.urgent = opts.urgent ?? (() => false)
    sodium.randombytes_buf(this.session)
    this.owner = this.makeOwner()
  }

  async start (): Promise<void> {
    if (this.started || this.closing !== null) throw new Error('SwarmMesh.start() called twice or after close()')
    this.started = true

    const dht = new DialWatchingDHT({
      ...(this.bootstrap !== undefined ? { bootstrap: this.bootstrap } : {}),
      ...(this.host !== undefined ? { host: this.host } : {}),
      ...(this.reachable ? { firewalled: false } : {})
    }, (peer, conn) => this.onDial(peer, conn))
    dht.on('error', (err: Error) => this.log('warn', `dht: ${err.message}`))
    const swarm = new Hyperswarm({
      dht,
      keyPair: this.keyPair,
      // Room for the admitted peers plus connections still proving themselves.
      maxPeers: this.limits.maxPeers + MAX_UNADMITTED_CONNECTIONS,
      firewall: (remotePublicKey, payload) => this.screen(hex(remotePublicKey), payload)
    })
    this.swarm = swarm
    swarm.on('error', (err: Error) => this.log('warn', `swarm: ${err.message}`))
    swarm.on('connection', conn => this.onConnection(conn))

    this.lastPingTickMs = this.now()
    this.pingTimer = setInterval(() => this.pingTick(), this.limits.pingIntervalMs)
    this.pingTimer.unref()
    this.refusalTimer = setInterval(() => this.summariseRefusals(), REFUSAL_CHECK_MS)
    this.refusalTimer.unref()

    this.discovery = swarm.join(this.keys.topic, { server: true, client: true })
    try {
      await this.discovery.flushed()
    } catch (err) {
      // Closed while still looking for the DHT: the lookup's failure is the close, not news.
      if (this.closing !== null) return
      throw err
    }
    if (this.closing !== null) return
    if (dht.toArray().length === 0) {
      const where = this.bootstrap === undefined ? 'the public Hyperswarm DHT' : `the bootstrap nodes (${formatBootstrap(this.bootstrap)})`
      this.log('warn', `could not reach ${where}: no peers can be found until the network is back (outgoing UDP must be allowed); still trying`)
    }
    this.scheduleJoinRefresh(0)
    this.log('debug', `announced on the topic as ${shortId(this.id)}`)
  }

  close (): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  /** Direct peers, then members heard only through relays in the last 30 s (`direct: false`). */
  peers (): PeerInfo[] {
    const direct = [...this.ready.values()].map(s => ({ id: s.peerId, name: s.name, rttMs: s.rttMs, direct: true }))
    const cutoff = this.now() - INDIRECT_PEER_TTL_MS
    const indirect = [...this.indirect]
      .filter(([id, heardMs]) => heardMs >= cutoff && !this.ready.has(id))
      .map(([id]) => ({ id, name: shortId(id), rttMs: null, direct: false }))
    return [...direct, ...indirect]
  }

  send (to: PeerId, payload: Uint8Array): boolean {
    this.checkPayload(payload)
    const session = this.ready.get(to)
    if (session === undefined || this.closing !== null) return false
    session.sendDirect(payload)
    return true
  }

  broadcast (payload: Uint8Array): void {
    this.checkPayload(payload)
    if (this.closing !== null) return
    const unsigned = { author: this.keyPair.publicKey, session: this.session, seq: this.seq++, payload }
    const signature = new Uint8Array(SIGNATURE_BYTES)
    sodium.crypto_sign_detached(signature, broadcastSignedBytes(this.keys.roomId, unsigned), this.keyPair.secretKey)
    const frame: BroadcastFrame = { ...unsigned, hops: 0, signature }
    this.seen.add(sessionKey(frame), frame.seq, contentDigest(frame))
    const urgent = this.urgent(payload)
    for (const session of this.ready.values()) session.sendBroadcast(frame, urgent)
  }

  reportInvalid (from: PeerId, author: PeerId, why: string): void {
    const direct = this.ready.get(author)
    if (direct !== undefined) {
      if (direct.invalidPayload(why)) return
      this.log('debug', `${shortId(author)}: invalid message (${why}); tolerated within its budget`, author)
      return
    }
    if (author === this.id) return
    this.distrusted.delete(author)
    this.distrusted.set(author, this.now() + DISTRUST_MS)
    if (this.distrusted.size > MAX_DISTRUSTED_AUTHORS) {
      const oldest = this.distrusted.keys().next()
      if (oldest.done !== true) this.distrusted.delete(oldest.value)
    }
    this.log('warn', `${shortId(author)} (relayed${from === author ? '' : ` by ${shortId(from)}`}) sent an invalid message (${why}); its broadcasts are dropped for ${DISTRUST_MS / 60_000} min`, author)
  }

  /**
   * A member is a direct peer, or a key that one of our direct peers lists as its own direct
   * peer (it admitted it). Anything else claiming authorship was made up by whoever sent it.
   */
  isMember (author: PeerId): boolean {
    if (this.ready.has(author)) return true
    const until = this.distrusted.get(author)
    if (until !== undefined && until > this.now()) return false
    for (const session of this.ready.values()) if (session.neighbours?.has(author) === true) return true
    return false
  }

  /** Bytes on the wire per direct peer since each connection opened, and the datagrams beside them (benchmarks and tests read this). */
  linkBytes (): Array<{ peer: PeerId, read: number, written: number, udxBytesSent: number, udxPacketsSent: number, datagramsSent: number, datagramsReceived: number }> {
    return [...this.ready.values()].map(s => ({ peer: s.peerId, ...s.bytes, datagramsSent: s.datagramsSent, datagramsReceived: s.datagramsReceived }))
  }

  private async shutdown (): Promise<void> {
    if (this.pingTimer !== null) clearInterval(this.pingTimer)
    if (this.refusalTimer !== null) clearInterval(this.refusalTimer)
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer)
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    if (this.neighboursTimer !== null) clearTimeout(this.neighboursTimer)
    const sessions = [...this.sessions]
    for (const session of sessions) session.sayBye()
    await allClosedWithin(sessions, BYE_FLUSH_MS)
    for (const session of sessions) session.destroy()
    if (this.swarm !== null) await leaveSwarm(this.swarm)
  }

  private onConnection (conn: DHT.SecretStream): void {
    // Listen first: an unhandled stream error would crash the process (docs/facts.md).
    conn.on('error', () => {})
    if (this.closing !== null) {
      conn.destroy()
      return
    }
    const address = conn.rawStream?.remoteHost ?? 'unknown'
    const session = new PeerSession(conn, this.owner, address)
    this.sessions.add(session)
    // Never turn a newcomer away for lack of room: the oldest stranger makes room (unproven.ts).
    for (const old of this.unproven.add(session, address, this.now())) {
      old.refuse('evicted for a newer connection', `dropped unproven after ${MAX_UNPROVEN_CONNECTIONS} newer connections (or too many from ${old.address})`, 'debug')
    }
    session.open()
  }

  private onRefused (session: PeerSession, kind: string, detail: string, level: 'warn' | 'debug'): void {
    this.unproven.delete(session)
    this.summariseRefusals()
    if (this.refusals.note(kind, session.address, this.now())) this.log(level, `refused ${session.address}: ${detail}`, session.peerId)
  }

  /** A frame dropped without blaming its sender: counted with the refusals, told within their quota. */
  private noteDiscarded (from: PeerSession, kind: string, detail: string): void {
    this.summariseRefusals()
    if (this.refusals.note(kind, from.address, this.now())) this.log('debug', `discarded: ${detail}`, from.peerId)
  }

  private summariseRefusals (): void {
    const line = this.refusals.summary(this.now())
    if (line !== null) this.log('warn', line)
  }

  private makeOwner (): SessionOwner {
    return {
      authKey: this.keys.authKey,
      localName: this.name,
      localSession: this.session,
      limits: this.limits,
      now: () => this.now(),
      log: (level, msg, peer) => this.log(level, msg, peer),
      hasRoomFor: session => this.hasRoomFor(session),
      onRejected: session => this.rejected.add(session.peerId),
      onShared: session => this.unproven.progressed(session),
      onProven: session => this.unproven.delete(session),
      onRefused: (session, kind, detail, level) => this.onRefused(session, kind, detail, level),
      onReady: session => this.onReady(session),
      onClosed: (session, reason, wasReady) => this.onClosed(session, reason, wasReady),
      onDirect: (session, payload) => {
        this.emit('message', { from: session.peerId, author: session.peerId, payload, broadcast: false })
      },
      onBroadcast: (session, frame) => this.onBroadcast(session, frame),
      onClockSample: (session, sample) => this.emit('clock-sample', { peer: session.peerId, ...sample }),
      onNeighbours: (session, peers, sessions) => {
        // An honest peer has at most maxPeers direct peers: that bounds whom one member can vouch for.
        const vouched = peers.slice(0, this.limits.maxPeers)
        session.neighbours = new Set(vouched)
        session.neighbourSessions = sessions === null ? null : new Map(vouched.map((peer, i) => [peer, sessions[i] as string]))
        this.log('debug', `${shortId(session.peerId)} is connected to ${peers.length} peers`, session.peerId)
      },
      onDiscarded: (session, kind, detail) => this.noteDiscarded(session, kind, detail)
    }
  }

  private hasRoomFor (session: PeerSession): boolean {
    const admitted = new Set<PeerId>()
    for (const other of this.sessions) {
      if (other.state === 'admitted' || other.state === 'ready') admitted.add(other.peerId)
    }
    admitted.delete(session.peerId)
    return admitted.size < this.limits.maxPeers
  }

  private onReady (session: PeerSession): void {
    const id = session.peerId
    const previous = this.ready.get(id)
    const pending = this.limbo.get(id)
    this.limbo.delete(id)
    this.lost.delete(id)
    this.indirect.delete(id)
    this.ready.set(id, session)
    const before = previous !== undefined ? previous.remoteSession : pending?.remoteSession
    if (before !== undefined && before !== session.remoteSession) this.sendNeighbours()
    else this.scheduleNeighbours()
    previous?.destroy()

    if (before !== undefined) {
      if (before === session.remoteSession) {
        this.log('debug', `${shortId(id)}: replaced its connection`, id)
        return
      }
      // The same key with a new session id: the peer restarted; its old self is gone.
      this.emit('peer-down', id, 'lost')
    }
    this.log('debug', `${session.name} (${shortId(id)}) joined over ${session.conn.isInitiator ? 'our' : 'its'} dial`, id)
    this.emit('peer-up', { id, name: session.name, rttMs: session.rttMs, direct: true })
  }

  private onClosed (session: PeerSession, reason: 'left' | 'lost', wasReady: boolean): void {
    const id = session.peerId
    this.sessions.delete(session)
    this.unproven.delete(session)
    if (wasReady && this.ready.get(id) === session) {
      this.ready.delete(id)
      this.scheduleNeighbours()
      this.limbo.set(id, { reason, remoteSession: session.remoteSession })
    }
    // Hyperswarm hands us a swapped-in duplicate from inside the old stream's close event, so
    // look for a replacement only once this event has run its course.
    queueMicrotask(() => this.settle(id, session.name))
  }

  /** A peer whose ready session closed is down unless a replacement is still on its way. */
  private settle (id: PeerId, name: string): void {
    const pending = this.limbo.get(id)
    if (pending === undefined || this.ready.has(id)) return
    if ([...this.sessions].some(s => s.peerId === id && s.state !== 'closed')) return
    this.limbo.delete(id)
    this.peerDown(id, name, pending.reason)
  }

  private peerDown (id: PeerId, name: string, reason: 'left' | 'lost'): void {
    if (this.closing !== null) return
    this.log('debug', `${name} (${shortId(id)}) ${reason === 'left' ? 'left' : 'was lost'}`, id)
    if (reason === 'lost') {
      this.lost.set(id, this.now())
      this.scheduleReconnect()
    }
    this.emit('peer-down', id, reason)
  }

  private onBroadcast (from: PeerSession, frame: BroadcastFrame): void {
    const key = sessionKey(frame)
    const author = hex(frame.author)
    const digest = contentDigest(frame)
    // Our own broadcasts are in `seen` from the moment we send them, so an echo stops here.
    // A copy whose content differs from the one we verified cannot be genuine (ed25519
    // signatures are deterministic): it falls through to verification and its sender is dropped.
    // One too far behind its author's newest is old news or a replay: dropped, nobody blamed.
    const seenDigest = this.seen.tag(key, frame.seq)
    if (seenDigest === TOO_OLD || seenDigest === digest) return
    if (author !== this.id && !this.isMember(author)) {
      return this.noteDiscarded(from, 'broadcasts from non-members', `broadcast by ${shortId(author)}, who is not a member (no direct peer admitted it), from ${shortId(from.peerId)}`)
    }
    const sessions = author === this.id ? null : this.currentSessions(author)
    if (sessions !== null && !sessions.has(hex(frame.session))) {
      return this.noteDiscarded(from, 'broadcasts from an old session', `broadcast by ${shortId(author)} from a session it no longer runs (a replay after its restart), from ${shortId(from.peerId)}`)
    }

    const signed = broadcastSignedBytes(this.keys.roomId, frame)
    if (!sodium.crypto_sign_verify_detached(frame.signature, signed, frame.author)) {
      // Honest relays verify before relaying, so a bad signature marks the sender, not the author.
      this.log('warn', `${shortId(from.peerId)}: dropping the connection: broadcast "from" ${shortId(author)} has a bad signature`, from.peerId)
      from.destroy()
      return
    }
    if (seenDigest !== undefined) return
    if (author === this.id) {
      // Signed by our key but not sent by this process (or so long ago that we forgot it): replayed.
      return this.noteDiscarded(from, 'replays of our own old broadcasts', `a broadcast of ours that this session did not just send (a replay), from ${shortId(from.peerId)}`)
    }
    if (!this.budgets.take(author, this.now())) {
      return this.noteDiscarded(from, 'broadcasts over their author\'s budget', `${shortId(author)} broadcast more than ${this.limits.maxBroadcastsPerAuthorPerSec}/s (burst ${this.limits.authorBurst}); not delivered nor relayed`)
    }
    const voucher = this.ready.has(author) ? null : this.soleVoucher(author)
    if (voucher !== null && !this.voucherBudgets.take(voucher, this.now())) {
      return this.noteDiscarded(from, 'broadcasts of keys only one peer vouches for, over its share', `${shortId(author)}, vouched for by ${shortId(voucher)} alone, is over the ${SOLE_VOUCHER_AUTHORS} authors' budget shared by all the keys ${shortId(voucher)} alone vouches for; not delivered nor relayed`)
    }
    this.seen.add(key, frame.seq, digest)
    if (!this.ready.has(author)) this.heardIndirectly(author)

    if (frame.hops < MAX_RELAY_HOPS) {
      const relayed = { ...frame, hops: frame.hops + 1 }
      // Straight from its author only: a relayed copy of an urgent broadcast is not relayed again
      // to everyone, so the copies stay one per link and direction.
      const everywhere = frame.hops === 0 && this.urgent(frame.payload)
      let fanout = 0
      for (const session of this.ready.values()) {
        if (fanout >= this.limits.maxRelayFanout) break
        if (session === from || session.peerId === author) continue
        // It has the author as a direct peer, so it got (or will get) this straight from them.
        if (!everywhere && session.neighbours?.has(author) === true) continue
        session.sendBroadcast(relayed, everywhere)
        fanout++
      }
    }
    this.emit('message', { from: from.peerId, author, payload: frame.payload, broadcast: true })
  }

  /** The one direct peer that lists `author` among its neighbours, or null (none, or several). */
  private soleVoucher (author: PeerId): PeerId | null {
    let voucher: PeerId | null = null
    for (const session of this.ready.values()) {
      if (session.neighbours?.has(author) !== true) continue
      if (voucher !== null) return null
      voucher = session.peerId
    }
    return voucher
  }

  private heardIndirectly (author: PeerId): void {
    this.indirect.delete(author)
    this.indirect.set(author, this.now())
    if (this.indirect.size > MAX_INDIRECT_PEERS) {
      const oldest = this.indirect.keys().next()
      if (oldest.done !== true) this.indirect.delete(oldest.value)
    }
  }

  private scheduleNeighbours (): void {
    if (this.neighboursTimer !== null || this.closing !== null) return
    this.neighboursTimer = setTimeout(() => this.sendNeighbours(), NEIGHBOURS_DEBOUNCE_MS)
    this.neighboursTimer.unref()
  }

  /**
   * Our direct peers and their sessions, to every direct peer. Sent at once (not debounced) when a
   * peer restarted: the list then reaches each neighbour before any relayed broadcast of the new
   * session (one ordered channel), so none is taken for an old session's.
   */
  private sendNeighbours (): void {
    if (this.neighboursTimer !== null) clearTimeout(this.neighboursTimer)
    this.neighboursTimer = null
    if (this.closing !== null) return
    const ready = [...this.ready.values()]
    const peers = ready.map(s => s.conn.remotePublicKey)
    const sessions = ready.every(s => s.remoteSession !== null) ? ready.map(s => Buffer.from(s.remoteSession as string, 'hex')) : undefined
    for (const session of ready) session.sendNeighbours(peers, sessions)
  }

  /**
   * The session ids a member may broadcast from now: its own (a direct peer's hello), else those
   * our direct peers report for it; null when nobody said (an older peer: not checked).
   */
  private currentSessions (author: PeerId): Set<string> | null {
    const direct = this.ready.get(author)
    if (direct?.remoteSession != null) return new Set([direct.remoteSession])
    const sessions = new Set<string>()
    for (const session of this.ready.values()) {
      const theirs = session.neighbourSessions?.get(author)
      if (theirs !== undefined) sessions.add(theirs)
    }
    return sessions.size > 0 ? sessions : null
  }

  private scheduleJoinRefresh (index: number): void {
    const delayMs = JOIN_RACE_REFRESHES_MS[index]
    if (delayMs === undefined) return
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null
      this.refresh()
      this.scheduleJoinRefresh(index + 1)
    }, delayMs + Math.round(JOIN_RACE_JITTER_MS * this.random()))
    this.refreshTimer.unref()
  }

  private scheduleReconnect (): void {
    if (this.reconnectTimer !== null || this.closing !== null) return
    const delayMs = reconnectDelayMs(this.reconnectAttempt++, this.random)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      const giveUpBefore = this.now() - RECONNECT_GIVE_UP_MS
      for (const [id, lostAtMs] of this.lost) if (lostAtMs < giveUpBefore) this.lost.delete(id)
      if (this.lost.size === 0) {
        this.reconnectAttempt = 0
        return
      }
      this.refresh()
      this.scheduleReconnect()
    }, delayMs)
    this.reconnectTimer.unref()
  }

  private pingTick (): void {
    const nowMs = this.now()
    if (wokeFromSuspend(this.lastPingTickMs, nowMs, this.limits.pingIntervalMs, this.limits.deadPeerMs)) {
      this.log('debug', `woke after ${((nowMs - this.lastPingTickMs) / 1000).toFixed(1)} s without running; looking for the room again`)
      this.reconnectAttempt = 0
      this.refresh()
    }
    this.lastPingTickMs = nowMs
    for (const session of this.ready.values()) session.ping()
  }

  private refresh (): void {
    if (this.discovery === null || this.closing !== null) return
    this.discovery.refresh().catch((err: Error) => this.log('debug', `topic refresh failed: ${err.message}`))
  }

  private onDial (peer: PeerId, conn: DHT.SecretStream): void {
    this.dialing.set(peer, conn)
    if (this.lost.has(peer)) this.log('debug', `${shortId(peer)}: dialing it again`, peer)
    const done = (): void => { if (this.dialing.get(peer) === conn) this.dialing.delete(peer) }
    conn.once('open', done)
    conn.once('close', done)
  }

  /**
   * Hyperswarm asks before each of its dials (payload null) and for each incoming handshake, whose
   * Noise proves the key. A lost peer that calls us is back; if our own dial to it is still
   * waiting, that dial went out to its dead self: its first relay is the old process's DHT node,
   * ~4 s of handshake retries (docs/facts.md). Of two crossing connections hyperswarm keeps the
   * one the keys' order names, so when ours sorts above the peer's it refused the live one for
   * that dial: a daemon restarted 4 s after kill -9 met its peer 3.4-4.1 s after its spawn
   * (bench:restart --down-ms 4000), 0.7-0.9 s once the stale dial makes way. Only for lost peers:
   * crossing dials of a first meeting stay hyperswarm's to pick. The refusals are unchanged, and
   * the connection taken still has to pass the PAKE and hello; a replayed handshake costs us at
   * most one dial, which the reconnect schedule makes again.
   */
  private screen (peer: PeerId, payload: unknown): boolean {
    if (this.refuses(peer)) return true
    const dial = payload === null ? undefined : this.dialing.get(peer)
    if (dial !== undefined && this.lost.has(peer)) {
      this.log('debug', `${shortId(peer)} is back: its connection replaces our dial still waiting on its old address`, peer)
      this.dialing.delete(peer)
      dial.destroy()
    }
    return false
  }

  private refuses (peer: PeerId): boolean {
    return this.rejected.has(peer) || (this.firewall?.(peer) ?? false)
  }

  private checkPayload (payload: Uint8Array): void {
    if (payload.byteLength > this.limits.maxPayloadBytes) {
      throw WatchmeshError.badMessage(`payload of ${payload.byteLength} bytes exceeds the mesh limit of ${this.limits.maxPayloadBytes}`)
    }
  }

  private log (level: 'info' | 'warn' | 'debug', msg: string, peer?: PeerId): void {
    this.emit('log', peer === undefined ? { level, msg } : { level, msg, peer })
  }
}

/** Hyperswarm hands us its connections only once open; this tells us of its dials as they start. */
class DialWatchingDHT extends DHT {
  private readonly onDial: (peer: PeerId, conn: DHT.SecretStream) => void

  constructor (opts: DHT.Options, onDial: (peer: PeerId, conn: DHT.SecretStream) => void) {
    super(opts)
    this.onDial = onDial
  }

  override connect (publicKey: Uint8Array, opts?: DHT.ConnectOptions): DHT.SecretStream {
    const conn = super.connect(publicKey, opts)
    this.onDial(hex(publicKey), conn)
    return conn
  }
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** Names the author session a broadcast came from (its seq is counted within it). */
function sessionKey (frame: { author: Uint8Array, session: Uint8Array }): string {
  return `${hex(frame.author)}:${hex(frame.session)}`
}

/** 16 bytes (BLAKE2b's minimum) over the signature and payload: tells a verified copy from an altered one. */
function contentDigest (frame: { signature: Uint8Array, payload: Uint8Array }): string {
  const input = new Uint8Array(frame.signature.byteLength + frame.payload.byteLength)
  input.set(frame.signature, 0)
  input.set(frame.payload, frame.signature.byteLength)
  const out = new Uint8Array(16)
  sodium.crypto_generichash(out, input)
  return hex(out)
}

/**
 * Destroys the swarm, unannouncing politely when the DHT is reachable, but never waiting out the
 * timeouts of a DHT that is not: then the leave is forced (others forget the announcement by itself).
 */
async function leaveSwarm (swarm: Hyperswarm): Promise<void> {
  if (swarm.dht.toArray().length === 0) return await forceLeave(swarm)
  let timer: NodeJS.Timeout | undefined
  const graceful = swarm.destroy().then(() => true)
  const late = new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), UNANNOUNCE_GRACE_MS) })
  const done = await Promise.race([graceful, late]).finally(() => clearTimeout(timer))
  if (!done) {
    graceful.catch(() => {})
    await forceLeave(swarm)
  }
}

/**
 * The DHT first: hyperswarm's own destroy waits for its announcing server even when forced (4.7 s
 * measured with the bootstrap port closed); with the DHT's sockets gone that ends at once (~15 ms).
 */
async function forceLeave (swarm: Hyperswarm): Promise<void> {
  await swarm.dht.destroy({ force: true })
  await swarm.destroy({ force: true })
}

function allClosedWithin (sessions: PeerSession[], ms: number): Promise<void> {
  const closed = sessions
    .filter(s => !s.conn.destroyed)
    .map(s => new Promise<void>(resolve => s.conn.once('close', () => resolve())))
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })
  return Promise.race([Promise.all(closed).then(() => {}), deadline]).finally(() => clearTimeout(timer))
}
