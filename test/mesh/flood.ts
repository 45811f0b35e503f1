/**
 * A stranger's connection flood: fresh keypairs dialling one member at a steady rate, completing
 * the Noise handshake and then sending nothing (no channel open, so no proof). This is what anyone
 * who looked up the room's topic on the DHT can do without the passphrase.
 *
 * The flooder runs in its own process (this file is also its entry point), as an attacker would:
 * sharing the member's event loop would slow the member down and the flood with it.
 *   node dist/test/mesh/flood.js '{"bootstrap":[...],"target":"<hex>","perSec":60}'
 * It prints `{"attempts":N,"opened":M}` after every tick of dials, and stops when stdin ends.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { performance } from 'node:perf_hooks'
import DHT from 'hyperdht'
import type { LocalTestnet } from '../fixtures/testnet.js'
import { trackChild } from '../fixtures/cleanup.js'

/** Connections a flood keeps open at most: it lets the member close them (that is what it tests). */
const MAX_FLOOD_OPEN = 512
const FLOOD_TICK_MS = 10
const FLOOD_SCRIPT = fileURLToPath(import.meta.url)

export interface Flood {
  /** Dials started so far. */
  readonly attempts: number
  /** Of those, connections that completed the Noise handshake. */
  readonly opened: number
  stop (): Promise<void>
}

export function startFlood (testnet: LocalTestnet, targetId: string, perSec: number): Flood {
  const config = { bootstrap: testnet.bootstrap, target: targetId, perSec }
  const child = spawn(process.execPath, [FLOOD_SCRIPT, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] })
  trackChild(child)
  const stats = { attempts: 0, opened: 0 }
  createInterface({ input: child.stdout }).on('line', line => Object.assign(stats, JSON.parse(line)))
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  return {
    get attempts () { return stats.attempts },
    get opened () { return stats.opened },
    async stop () {
      child.stdin.end()
      await exited
    }
  }
}

function runFlooder (config: { bootstrap: Array<{ host: string, port: number }>, target: string, perSec: number }): void {
  const dht = new DHT({ bootstrap: config.bootstrap, host: '127.0.0.1' })
  dht.on('error', () => {})
  const target = Buffer.from(config.target, 'hex')
  const open = new Set<DHT.SecretStream>()
  const stats = { attempts: 0, opened: 0 }
  const startedMs = performance.now()
  // Catch up on the schedule each tick: a busy event loop delays timers, not the attack.
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - startedMs) * config.perSec / 1000)
    while (stats.attempts < due && open.size < MAX_FLOOD_OPEN) {
      stats.attempts++
      const conn = dht.connect(target, { keyPair: DHT.keyPair() })
      conn.on('error', () => {})
      conn.once('open', () => { stats.opened++ })
      conn.once('close', () => open.delete(conn))
      open.add(conn)
    }
    process.stdout.write(JSON.stringify({ ...stats, pending: open.size }) + "\n")
  }, FLOOD_TICK_MS)
  process.stdin.resume()
  process.stdin.on('end', () => {
    clearInterval(timer)
    for (const conn of open) conn.destroy()
    void dht.destroy({ force: true }).finally(() => process.exit(0))
  })
}

if (process.argv[1] === FLOOD_SCRIPT && process.argv[2] !== undefined) runFlooder(JSON.parse(process.argv[2]))
