/**
 * A call's deadline that a reply already received always beats.
 *
 * When this process has not run for a while (frozen with SIGSTOP, a machine too loaded to schedule
 * it, a long garbage collection), the player's reply may be waiting in the socket when the deadline
 * falls due; Node runs due timers before it reads the sockets, so a plain timer would fail a call
 * that was answered in time (seen in a chaos run: a read at attach failed "no reply within
 * 2000 ms" after the daemon woke from a 4 s freeze). The expiry therefore waits one more turn of
 * the event loop (setImmediate runs after the sockets are read), and a reply read meanwhile wins.
 */
/**
 * A command that missed its deadline may still be carried out: the player was frozen or busy, and
 * works through its queue when it wakes. Its late answer is awaited this long (then it is taken as
 * never carried out): past that, the room has long moved on, and what the player does then is
 * better taken for its user's than explained away.
 */
export const LATE_ANSWER_MAX_MS = 30_000

/** Told, once, how a call that missed its deadline ended: answered late (true) or not at all (false). */
export type LateAnswer = (answered: boolean) => void

export interface Deadline {
  /** Cancels the deadline (the reply came, or the call ended otherwise). */
  clear: () => void
}

/** Calls `expire` once `ms` have passed and input already waiting has been read, unless cleared first. */
export function startDeadline (ms: number, expire: () => void): Deadline {
  let immediate: NodeJS.Immediate | null = null
  let cleared = false
  const timer = setTimeout(() => {
    immediate = setImmediate(() => {
      if (!cleared) expire()
    })
  }, ms)
  return {
    clear: () => {
      cleared = true
      clearTimeout(timer)
      if (immediate !== null) clearImmediate(immediate)
    }
  }
}
