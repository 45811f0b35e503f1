/**
 * A room of real viewers for the long-running benchmarks (chaos, soak): a local testnet, one media
 * file, and N viewers (private bus, real mpv with mpv-mpris, real `watchmesh join`), each of which
 * has met every other before the room is handed over.
 */
import { request } from '../../src/daemon/control.js'
import { controlPath } from '../../src/daemon/paths.js'
import type { MemoryStatus } from '../../src/daemon/memory.js'
import { makeMedia } from '../../test/fixtures/media.js'
import { startTestnet } from '../../test/fixtures/testnet.js'
import type { LocalTestnet } from '../../test/fixtures/testnet.js'
import { Viewer } from '../../test/fixtures/viewer.js'
import type { StatusJson } from '../../test/fixtures/viewer.js'

/** Everyone meets everyone within seconds on loopback; a deadline only, for a busy machine. */
const MEET_TIMEOUT_MS = 60_000

export interface Room {
  testnet: LocalTestnet
  file: string
  mediaS: number
  viewers: Viewer[]
  close (): Promise<void>
}

export async function startRoom (opts: { names: string[], passphrase: string, mediaS: number, log?: (msg: string) => void }): Promise<Room> {
  const log = opts.log ?? (() => {})
  log(`making a ${opts.mediaS} s test video (cached after the first time)`)
  const file = await makeMedia({ seconds: opts.mediaS })
  const testnet = await startTestnet()
  const viewers = opts.names.map(name => new Viewer({ name, passphrase: opts.passphrase, bootstrapArg: testnet.bootstrapArg, file }))
  const close = async (): Promise<void> => {
    await Promise.allSettled(viewers.map(async v => await v.close()))
    await testnet.close()
  }
  try {
    log(`starting ${viewers.length} viewers (bus, mpv, watchmesh join)`)
    await Promise.all(viewers.map(async v => await v.start()))
    for (const v of viewers) {
      for (const other of viewers) {
        if (other !== v) await v.proc.waitForLine(new RegExp(`${other.name} joined`), { timeoutMs: MEET_TIMEOUT_MS })
      }
    }
    log('everyone has met everyone')
    return { testnet, file, mediaS: opts.mediaS, viewers, close }
  } catch (err) {
    await close()
    throw err
  }
}

/** The daemon's status straight from its control socket (what `watchmesh status --json` prints, without a process per read). */
export async function daemonStatus (v: Viewer): Promise<StatusJson & { memory?: MemoryStatus }> {
  return await request(controlPath(v.env), 'status') as StatusJson & { memory?: MemoryStatus }
}
