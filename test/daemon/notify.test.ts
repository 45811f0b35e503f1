/** --notify: other people's actions reach a desktop notification service on the session bus. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Message } from '@jellybrick/dbus-next'
import { startBus } from '../fixtures/dbus.js'
import { connectTestBus } from '../fixtures/mpv.js'
import { Notifier } from '../../src/daemon/notify.js'

test('notifications go to org.freedesktop.Notifications, replacing each other; none there is not fatal', async t => {
  const bus = await startBus()
  t.after(async () => { await bus.close() })

  const notifier = new Notifier({ busAddress: bus.address })
  t.after(() => notifier.close())
  // Nobody serves notifications yet: a quiet `false`, never a throw.
  assert.equal(await notifier.notify('watchmesh', 'nobody listens'), false)

  const service = await connectTestBus(bus.address)
  t.after(() => service.disconnect())
  const received: unknown[][] = []
  service.addMethodHandler(msg => {
    if (msg.interface !== 'org.freedesktop.Notifications' || msg.member !== 'Notify') return false
    received.push(msg.body)
    service.send(Message.newMethodReturn(msg, 'u', [received.length + 41]))
    return true
  })
  await service.requestName('org.freedesktop.Notifications', 0)

  const fresh = new Notifier({ busAddress: bus.address })
  t.after(() => fresh.close())
  assert.equal(await fresh.notify('watchmesh', 'alice paused at 00:42:17'), true)
  assert.equal(await fresh.notify('watchmesh', 'bob jumped to 00:10:00'), true)
  assert.equal(received.length, 2)
  const [first, second] = received as [unknown[], unknown[]]
  assert.equal(first[0], 'watchmesh')
  assert.equal(first[4], 'alice paused at 00:42:17')
  assert.equal(first[1], 0, 'the first notification is new')
  assert.equal(second[1], 42, 'the next one replaces it (no flood of bubbles on a burst of seeks)')
})
