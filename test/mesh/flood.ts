/**
 * A stranger's connection flood: fresh keypairs dialling one member at a steady rate, completing
 * the Noise handshake and then sending nothing (no channel open, so no proof). This is what anyone
 * who looked up the room's topic on the DHT can do without the passphrase.
 */
import DHT from 'hyperdht'
import type { LocalTestnet } from '../fixtures/testnet.js'

/** Connections a flood keeps open at most: it lets the member close them (that is what it tests). */
const MAX_FLOOD_OPEN = 512

export interface Flood {
  /** Dials started so far. */
  readonly attempts: number
  /** Of those, connections that completed the Noise handshake. */
  readonly opened: number
  stop (): Promise<void>
}

export function startFlood (testnet: LocalTestnet, targetId: string, perSec: number): Flood {
  const dht = new DHT({ bootstrap: testnet.bootstrap, host: '127.0.0.1' })
  dht.on('error', () => {})
  const target = Buffer.from(targetId, 'hex')
  const open = new Set<DHT.SecretStream>()
  const stats = { attempts: 0, opened: 0 }
  const timer = setInterval(() => {
    if (open.size >= MAX_FLOOD_OPEN) return
    stats.attempts++
    const conn = dht.connect(target, { keyPair: DHT.keyPair() })
    conn.on('error', () => {})
    conn.once('open', () => { stats.opened++ })
    conn.once('close', () => open.delete(conn))
    open.add(conn)
  }, 1000 / perSec)
  return {
    get attempts () { return stats.attempts },
    get opened () { return stats.opened },
    async stop () {
      clearInterval(timer)
      for (const conn of open) conn.destroy()
      await dht.destroy()
    }
  }
}
