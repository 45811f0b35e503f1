/**
 * `watchmesh dht`: runs a private DHT bootstrap node for a party that does not want (or cannot
 * reach) the public Hyperswarm DHT, e.g. on a LAN. Everyone then joins with `--bootstrap H:P`.
 */
import { isIPv4 } from 'node:net'
import { networkInterfaces } from 'node:os'
import DHT from 'hyperdht'
import { WatchmeshError } from '../errors.js'
import { formatBootstrap } from '../mesh/bootstrap.js'
import type { Io } from './io.js'
import { DHT_DEFAULT_PORT } from './dht-port.js'

export { DHT_DEFAULT_PORT }

export interface DhtArgs {
  /** This machine's address as the others reach it (default: its first non-loopback IPv4). */
  host?: string
  port?: number
}

/** Runs the node until SIGINT/SIGTERM. */
export async function runDht (args: DhtArgs, io: Io): Promise<number> {
  const port = args.port ?? DHT_DEFAULT_PORT
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw WatchmeshError.badUsage(`--port must be 1-65535, not ${String(args.port)}`)
  const host = args.host ?? lanAddresses()[0]
  if (host === undefined) throw WatchmeshError.badUsage('this machine has no network address besides loopback: give one with --host (127.0.0.1 for viewers on this machine only)')
  if (!isIPv4(host)) throw WatchmeshError.badUsage(`--host must be this machine's IPv4 address as the others reach it, not "${host}"`)
  // A bootstrapper knows its own address from the start: a DHT node's id is the hash of the address
  // others see it at, and they ignore a node whose id does not match. A plain first node (as the
  // testnet starts) only learns its address from other DHT nodes, so alone it is never admitted
  // into anyone's routing table.
  const node = DHT.bootstrapper(port, host)
  node.on('error', (err: Error) => io.err.write(`watchmesh: dht: ${err.message}\n`))
  const stopped = new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  try {
    await node.fullyBootstrapped()
  } catch (err) {
    await node.destroy()
    throw new WatchmeshError('BAD_USAGE', `cannot run a DHT node on port ${port}: ${err instanceof Error ? err.message : String(err)}`)
  }
  const others = args.host === undefined ? lanAddresses().slice(1) : []
  io.err.write(`watchmesh: DHT bootstrap node on ${host}:${port} (listening on every interface)\n`)
  io.out.write(`--bootstrap ${formatBootstrap([{ host, port }])}\n`)
  io.err.write('watchmesh: give the others this --bootstrap value for `watchmesh join`; Ctrl-C stops the node\n')
  if (others.length > 0) io.err.write(`watchmesh: this machine has other addresses too (${others.join(', ')}): pick the one the others reach with --host\n`)
  const signal = await stopped
  io.err.write(`watchmesh: stopping the DHT node (${signal})\n`)
  await node.destroy()
  return 0
}

/** This machine's IPv4 addresses others on the network may reach (no loopback). */
function lanAddresses (): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal) out.push(a.address)
    }
  }
  return out
}
