import { WatchmeshError } from '../errors.js'

export interface BootstrapNode {
  host: string
  port: number
}

/** `'host:port,host:port'` (as `--bootstrap` takes it) -> nodes; `BAD_BOOTSTRAP` on any bad entry. */
export function parseBootstrap (value: string): BootstrapNode[] {
  const entries = value.split(',').map(s => s.trim()).filter(s => s.length > 0)
  if (entries.length === 0) throw WatchmeshError.badBootstrap(value)
  return entries.map(parseEntry)
}

function parseEntry (entry: string): BootstrapNode {
  const colon = entry.lastIndexOf(':')
  if (colon <= 0) throw WatchmeshError.badBootstrap(entry)
  let host = entry.slice(0, colon)
  const portText = entry.slice(colon + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (!/^\d{1,5}$/.test(portText)) throw WatchmeshError.badBootstrap(entry)
  const port = Number(portText)
  if (port < 1 || port > 65535 || /\s/.test(host) || host.length === 0) throw WatchmeshError.badBootstrap(entry)
  return { host, port }
}

export function formatBootstrap (nodes: BootstrapNode[]): string {
  return nodes.map(n => `${n.host}:${n.port}`).join(',')
}

/**
 * True when every bootstrap node sits at a loopback, private (RFC 1918, RFC 6598 shared, IPv6 ULA)
 * or link-local address: the party shares one network (a LAN, a VPN) on which every viewer reaches
 * every other directly. A DHT node there should say it is not firewalled. Left to detect that
 * itself, hyperdht needs replies from several DHT nodes: with one bootstrap node it stays
 * "firewalled", cannot tell its NAT type from a single address sample, and refuses every
 * holepunch, so no two viewers ever connect. Host names cannot be judged and count as public.
 */
export function onPrivateNetwork (nodes: BootstrapNode[]): boolean {
  return nodes.length > 0 && nodes.every(n => isPrivateAddress(n.host))
}

function isPrivateAddress (host: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host)
  if (v4 !== null) {
    const a = Number(v4[1])
    const b = Number(v4[2])
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)
  }
  const v6 = host.toLowerCase()
  return v6 === '::1' || /^f[cd][0-9a-f]{2}:/.test(v6) || /^fe[89ab][0-9a-f]:/.test(v6) || v6 === 'localhost'
}
