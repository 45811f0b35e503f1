/**
 * One SwarmMesh in its own process, for tests and the benchmark that need real processes (kill -9).
 *
 *   node dist/test/mesh/mesh-node.js '<json config>'
 *
 * Config: { bootstrap: [{host,port}], bucket: number, topic: hex, authKey: hex, roomId: hex, seed?: hex, name: string,
 *           limits?: Partial<MeshLimits>, reachable?: boolean } (keys come in derived: 32 Argon2id runs at once would
 *           swamp a 2-core machine and say nothing about the mesh).
 * stdout: one JSON object per line, `t` on a clock shared by all processes on this machine
 *         (performance.timeOrigin + performance.now(), ms): started, peer-up, peer-down, message,
 *         sent (just before a broadcast), stats, closed.
 * stdin:  one JSON command per line: broadcast {text}, send {to, text}, stats, close.
 * The process closes its mesh and exits when stdin ends (the parent went away).
 */
import { createInterface } from 'node:readline'
import { performance } from 'node:perf_hooks'
import { SwarmMesh } from '../../src/mesh/swarm-mesh.js'
import type { MeshLimits } from '../../src/mesh/types.js'
import { KDF_VERSION } from '../../src/mesh/keys.js'

interface Config {
  bootstrap: Array<{ host: string, port: number }>
  bucket: number
  topic: string
  authKey: string
  roomId: string
  seed?: string
  name: string
  limits?: Partial<MeshLimits>
  reachable?: boolean
}

const sharedNow = (): number => performance.timeOrigin + performance.now()
const print = (event: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify({ ...event, t: sharedNow() }) + '\n')
}

async function main (): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as Config
  const mesh = new SwarmMesh({
    keys: { version: KDF_VERSION, bucket: config.bucket, topic: Buffer.from(config.topic, 'hex'), authKey: Buffer.from(config.authKey, 'hex'), roomId: Buffer.from(config.roomId, 'hex') },
    name: config.name,
    bootstrap: config.bootstrap,
    host: '127.0.0.1',
    ...(config.seed !== undefined ? { seed: Buffer.from(config.seed, 'hex') } : {}),
    ...(config.limits !== undefined ? { limits: config.limits } : {}),
    ...(config.reachable !== undefined ? { reachable: config.reachable } : {})
  })
  mesh.on('peer-up', info => print({ ev: 'peer-up', id: info.id, name: info.name }))
  mesh.on('peer-down', (id, reason) => print({ ev: 'peer-down', id, reason }))
  mesh.on('message', m => print({ ev: 'message', from: m.from, author: m.author, text: Buffer.from(m.payload).toString(), broadcast: m.broadcast }))
  mesh.on('log', l => { if (l.level !== 'debug') process.stderr.write(`${mesh.id.slice(0, 8)} ${l.level}: ${l.msg}\n`) })

  let closing = false
  const close = async (): Promise<void> => {
    if (closing) return
    closing = true
    await mesh.close()
    print({ ev: 'closed' })
    process.exitCode = 0
    process.stdin.destroy()
  }

  const cpuStart = process.cpuUsage()
  createInterface({ input: process.stdin })
    .on('line', line => {
      const cmd = JSON.parse(line) as { cmd: string, text?: string, to?: string }
      if (cmd.cmd === 'broadcast') {
        print({ ev: 'sent', text: cmd.text })
        mesh.broadcast(Buffer.from(cmd.text ?? ''))
      }
      else if (cmd.cmd === 'send') mesh.send(cmd.to ?? '', Buffer.from(cmd.text ?? ''))
      else if (cmd.cmd === 'stats') {
        const cpu = process.cpuUsage(cpuStart)
        print({ ev: 'stats', rssBytes: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, links: mesh.linkBytes(), peers: mesh.peers().length })
      } else if (cmd.cmd === 'close') void close()
    })
    .on('close', () => { void close() })

  await mesh.start()
  print({ ev: 'started', id: mesh.id })
}

main().catch(err => {
  process.stderr.write(`mesh-node failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
