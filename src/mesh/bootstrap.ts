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
