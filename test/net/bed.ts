/**
 * The network test bed: one network namespace per node, joined by router.py (a user-space router
 * holding one TUN device per namespace), with per-direction delay, jitter, loss and links that can
 * be taken down. The kernel here has no netem and no iptables; namespaces and TUN devices are all it
 * takes. Every address lives inside the namespaces made here (10.77.0.x), never on the host.
 *
 * Cleanup: close() stops the router (its TUN devices vanish with it) and deletes the namespaces; an
 * exit hook does the same if the test process ends first, and a new bed first removes namespaces
 * left by test processes that no longer exist (killed with SIGKILL).
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { stopChild, trackChild } from '../fixtures/cleanup.js'

const execFileAsync = promisify(execFile)
const ROUTER = fileURLToPath(new URL('../../../test/net/router.py', import.meta.url))
/**
 * Namespace names: `wmnet-<test pid>-<bed>-<node>`, so a stale one names the process that made it,
 * and two beds of one process (one starting while the other runs) never share a name.
 */
const NS_PREFIX = 'wmnet-'
/**
 * The router starts in ~50 ms; a deadline only. Its TUN devices are made under the kernel's network
 * lock, which namespaces being deleted (another bed's, another test run's) may hold for seconds on a
 * busy machine: at load 15 on 2 cores one router had not printed `ready` after 10 s.
 */
const ROUTER_START_TIMEOUT_MS = 60_000
const SUBNET = '10.77.0'
/** Node i gets SUBNET.(i + FIRST_HOST): .0 is the network, .1 is left unused. */
const FIRST_HOST = 2
/** Beds made by this process so far: each one's number goes into its namespace and device names. */
let bedsMade = 0

export interface LinkParams {
  /** Mean one-way delay. */
  delayMs?: number
  /** Each one-way delay is spread uniformly over delayMs ± jitterMs / 2 (order is kept). */
  jitterMs?: number
  /** Probability that a packet is lost, 0-1. */
  loss?: number
  up?: boolean
}

export interface LinkSpec extends LinkParams {
  from: string
  to: string
}

export interface BedOptions {
  /** Node names, e.g. ['dht', 'alice', 'bob']: one namespace each. */
  nodes: string[]
  /** Every direction of every pair, unless `links` says otherwise. */
  link: LinkParams
  links?: LinkSpec[]
  /** Seeds the router's loss and jitter. */
  seed?: number
}

export interface NetBed {
  /** The node's address (its only one besides loopback). */
  addr (node: string): string
  /** A command prefix that runs a program inside the node's namespace. */
  wrap (node: string): string[]
  /** Changes one direction of a link while the bed runs. */
  setLink (spec: LinkSpec): Promise<void>
  close (): Promise<void>
}

/** Why this machine cannot run the bed (a reason for `skip`), or null when it can. */
export function netBedUnavailable (): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'creating network namespaces and TUN devices needs root'
  try { accessSync('/dev/net/tun', constants.R_OK | constants.W_OK) } catch { return 'no /dev/net/tun' }
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['python3', 'python3']] as const) {
    try { execFileSync(cmd, ['-V'], { stdio: 'ignore' }) } catch { return `no \`${cmd}\` (Debian package ${pkg})` }
  }
  const probe = `${NS_PREFIX}${process.pid}-probe`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' })
  } catch (err) {
    return `\`ip netns add\` failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`
  }
  return null
}

export async function startNetBed (opts: BedOptions): Promise<NetBed> {
  removeStaleNamespaces()
  const bed = bedsMade++
  const ns = new Map(opts.nodes.map(n => [n, `${NS_PREFIX}${process.pid}-${bed}-${n}`]))
  const addrs = new Map(opts.nodes.map((n, i) => [n, `${SUBNET}.${i + FIRST_HOST}`]))
  // Device names are at most 15 bytes and global until moved: pid- and bed-based, short.
  const devs = new Map(opts.nodes.map((n, i) => [n, `wm${process.pid % 1_000_000}b${bed % 100}n${i}`]))
  const created: string[] = []
  const deleteNamespaces = (): void => {
    for (const name of created.splice(0)) {
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    }
  }
  process.once('exit', deleteNamespaces)

  let router: ChildProcess | null = null
  const close = async (): Promise<void> => {
    if (router !== null) {
      router.stdin?.end()
      await stopChild(router)
      router = null
    }
    deleteNamespaces()
    process.removeListener('exit', deleteNamespaces)
  }

  try {
    for (const name of ns.values()) {
      await ip('netns', 'add', name)
      created.push(name)
    }
    const config = {
      seed: opts.seed ?? 1,
      nodes: opts.nodes.map(n => ({ name: n, dev: devs.get(n), addr: addrs.get(n) })),
      default: opts.link,
      links: opts.links ?? []
    }
    const child = spawn('python3', [ROUTER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
    router = child
    trackChild(child)
    const replies = lineReader(child)
    await replies.next(/^ready$/, ROUTER_START_TIMEOUT_MS)
    for (const node of opts.nodes) {
      const name = ns.get(node) as string
      const dev = devs.get(node) as string
      await ip('link', 'set', dev, 'netns', name)
      await ip('-n', name, 'addr', 'add', `${addrs.get(node) as string}/24`, 'dev', dev)
      await ip('-n', name, 'link', 'set', dev, 'up')
      await ip('-n', name, 'link', 'set', 'lo', 'up')
    }
    return {
      addr: node => known(addrs, node),
      wrap: node => ['ip', 'netns', 'exec', known(ns, node)],
      async setLink (spec) {
        child.stdin?.write(JSON.stringify({ link: spec }) + '\n')
        await replies.next(/^ok$/, ROUTER_START_TIMEOUT_MS)
      },
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}

function known (map: Map<string, string>, node: string): string {
  const value = map.get(node)
  if (value === undefined) throw new Error(`no node "${node}" in this test bed`)
  return value
}

async function ip (...args: string[]): Promise<void> {
  try {
    await execFileAsync('ip', args)
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed: ${String((err as { stderr?: string }).stderr ?? err).trim()}`)
  }
}

/** Namespaces named after a test process that is gone (it was killed before it could clean up). */
function removeStaleNamespaces (): void {
  let list = ''
  try { list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }) } catch { return }
  for (const line of list.split('\n')) {
    const m = new RegExp(`^(${NS_PREFIX}(\\d+)-\\S+)`).exec(line)
    if (m === null || alive(Number(m[2]))) continue
    try { execFileSync('ip', ['netns', 'del', m[1] as string], { stdio: 'ignore' }) } catch {}
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The router's stdout, line by line: `next(pattern)` resolves with the next matching line. */
function lineReader (child: ChildProcess): { next: (pattern: RegExp, timeoutMs: number) => Promise<string> } {
  const lines: string[] = []
  let stderr = ''
  let wake: (() => void) | null = null
  let buf = ''
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    buf += c
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, nl)); buf = buf.slice(nl + 1) }
    wake?.()
  })
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { stderr += c; wake?.() })
  child.once('exit', () => wake?.())
  return {
    async next (pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const i = lines.findIndex(l => pattern.test(l))
        if (i >= 0) return lines.splice(0, i + 1)[i] as string
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`router exited: ${stderr}`)
        if (Date.now() > deadline) throw new Error(`router: no line matching ${String(pattern)} (stderr: ${stderr})`)
        await new Promise<void>(resolve => {
          wake = resolve
          setTimeout(resolve, 100)
        })
        wake = null
      }
    }
  }
}
