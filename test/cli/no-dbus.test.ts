/**
 * Over mpv's IPC the daemon needs no D-Bus: the D-Bus library is loaded only when the MPRIS backend
 * is asked for. A fresh Node refuses to resolve the library (a module resolve hook), so any import
 * of it, static or dynamic, fails loudly.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const DIST_SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/** Runs `body` (an ES module) in a fresh Node and returns what it printed. */
async function inFreshNode (body: string): Promise<string> {
  const hook = 'export async function resolve (spec, ctx, next) { if (spec.includes("dbus-next")) throw new Error("D-Bus library loaded"); return await next(spec, ctx) }'
  const script = `import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))
${body}`
  const env = { ...process.env }
  delete env.DBUS_SESSION_BUS_ADDRESS
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env, cwd: DIST_SRC, timeout: 30_000 })
  return stdout.trim()
}

test('the CLI and an IPC watcher load no D-Bus library; the MPRIS watcher does', async () => {
  const out = await inFreshNode(`
const { main } = await import('${DIST_SRC}cli/main.js')
const { createWatcher } = await import('${DIST_SRC}daemon/create.js')
const ipc = await createWatcher({ kind: 'mpv-ipc', path: '/nonexistent/mpv.sock' })
await ipc.start()
await ipc.close()
console.log('ipc ok', typeof main)
console.log(await createWatcher({ kind: 'mpris' }).then(() => 'mpris loaded no D-Bus?', err => 'mpris: ' + err.message))`)
  assert.deepEqual(out.split('\n'), ['ipc ok function', 'mpris: D-Bus library loaded'])
})
