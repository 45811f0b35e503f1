/**
 * Optional desktop notifications (`--notify`) of other people's actions, through the freedesktop
 * org.freedesktop.Notifications service on the session bus. Best effort: a desktop without a
 * notification service costs one warning, never the daemon. The D-Bus library is loaded only when
 * a notification is first shown (a daemon following mpv over IPC needs no D-Bus at all).
 */
import type { MessageBus } from '@jellybrick/dbus-next'
import { sanitizeText } from '../text/sanitize.js'

/** Notifications replace each other (same id) so a burst of seeks does not flood the desktop. */
const EXPIRE_MS = 4000

export class Notifier {
  private readonly busAddress: string | undefined
  private bus: MessageBus | null = null
  private lastId = 0
  private failed = false

  constructor (opts: { busAddress?: string } = {}) {
    this.busAddress = opts.busAddress
  }

  /** Shows `summary`/`body`; resolves false (once logged by the caller) when no service answers. */
  async notify (summary: string, body = ''): Promise<boolean> {
    if (this.failed) return false
    try {
      const dbus = await import('@jellybrick/dbus-next')
      const bus = this.bus ?? dbus.sessionBus(this.busAddress === undefined ? {} : { busAddress: this.busAddress })
      this.bus = bus
      const reply = await bus.call(new dbus.Message({
        destination: 'org.freedesktop.Notifications',
        path: '/org/freedesktop/Notifications',
        interface: 'org.freedesktop.Notifications',
        member: 'Notify',
        signature: 'susssasa{sv}i',
        // Notification servers render a subset of HTML in the body: the text is sanitized and escaped.
        body: ['watchmesh', this.lastId, 'media-playback-start', sanitizeText(summary), escapeMarkup(sanitizeText(body)), [], {}, EXPIRE_MS]
      }))
      const id = reply?.body[0]
      if (typeof id === 'number') this.lastId = id
      return true
    } catch {
      this.failed = true
      return false
    }
  }

  close (): void {
    this.bus?.disconnect()
    this.bus = null
  }
}

/** The body markup of the notification spec (b, i, u, a, img): shown as text, never as markup. */
export function escapeMarkup (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
