/** Files and sockets the daemon keeps on the local machine: identity, config, control socket. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadIdentity } from '../../src/daemon/identity.js'
import { loadConfig } from '../../src/daemon/config.js'
import { ControlServer, request } from '../../src/daemon/control.js'
import { isWatchmeshError } from '../../src/errors.js'

async function tempDir (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wm-local-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

test('identity persists across restarts, is private, and is not shared by two live daemons', async t => {
  const dir = await tempDir(t)
  const first = await loadIdentity(dir)
  assert.equal(first.persistent, true)
  assert.equal((await stat(join(dir, 'identity'))).mode & 0o777, 0o600)

  const second = await loadIdentity(dir)
  assert.equal(second.persistent, false, 'a second daemon must not take the same key')
  assert.notDeepEqual(Buffer.from(second.seed), Buffer.from(first.seed))

  await first.release()
  const again = await loadIdentity(dir)
  assert.equal(again.persistent, true)
  assert.deepEqual(Buffer.from(again.seed), Buffer.from(first.seed), 'a restarted daemon keeps its key')
  await again.release()
})

test('a stale lock left by a dead process is taken over', async t => {
  const dir = await tempDir(t)
  const first = await loadIdentity(dir)
  await first.release()
  await writeFile(join(dir, 'identity.lock'), '2147483646\n')
  const next = await loadIdentity(dir)
  assert.equal(next.persistent, true)
  assert.deepEqual(Buffer.from(next.seed), Buffer.from(first.seed))
  await next.release()
})

test('config: a missing file is empty, a broken one is reported with its path', async t => {
  const dir = await tempDir(t)
  assert.deepEqual(await loadConfig(join(dir, 'none.json')), {})
  const path = join(dir, 'config.json')
  await writeFile(path, '{"name": ')
  await assert.rejects(loadConfig(path), (err: unknown) => isWatchmeshError(err, 'CONFIG_INVALID') && err.message.includes(path))
  await writeFile(path, '{"name": "alice", "bootstrap": "127.0.0.1:49737"}')
  assert.deepEqual(await loadConfig(path), { name: 'alice', bootstrap: '127.0.0.1:49737' })
})

test('control socket: user-only, answers status, refuses a second server, reports a missing daemon', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'run', 'control.sock')
  const server = new ControlServer({ path, handler: req => ({ echo: req.cmd }) })
  await server.start()
  t.after(async () => { await server.close() })
  assert.equal((await stat(path)).mode & 0o777, 0o600)
  assert.equal((await stat(join(dir, 'run'))).mode & 0o777, 0o700)
  assert.deepEqual(await request(path, 'status'), { echo: 'status' })

  const rival = new ControlServer({ path, handler: () => null })
  await assert.rejects(rival.start(), (err: unknown) => isWatchmeshError(err, 'CONTROL_UNAVAILABLE'))
  assert.deepEqual(await request(path, 'status'), { echo: 'status' }, 'the first server must keep working')

  await server.close()
  await assert.rejects(request(path, 'status'), (err: unknown) => isWatchmeshError(err, 'CONTROL_UNAVAILABLE') && /no watchmesh daemon/.test(err.message))
})

test('control socket directory made by someone else (open to others, a link, another owner): refused with a clear error', async t => {
  const dir = await tempDir(t)
  const open = join(dir, 'open')
  await mkdir(open, { mode: 0o777 })
  await chmod(open, 0o777)
  const squatted = new ControlServer({ path: join(open, 'control.sock'), handler: () => null })
  await assert.rejects(squatted.start(), (err: unknown) => isWatchmeshError(err, 'CONTROL_UNAVAILABLE') && /open to other users/.test(err.message))
  await assert.rejects(request(join(open, 'control.sock'), 'status'), (err: unknown) => isWatchmeshError(err, 'CONTROL_UNAVAILABLE') && /refusing/.test(err.message), 'status will not talk to a socket there')

  const real = join(dir, 'real')
  await mkdir(real, { mode: 0o700 })
  const link = join(dir, 'link')
  await symlink(real, link)
  await assert.rejects(new ControlServer({ path: join(link, 'control.sock'), handler: () => null }).start(), (err: unknown) => isWatchmeshError(err, 'CONTROL_UNAVAILABLE') && /symbolic link/.test(err.message))

  if (process.getuid?.() === 0) {
    const theirs = join(dir, 'theirs')
    await mkdir(theirs, { mode: 0o700 })
    await chown(theirs, 65534, 65534)
    await assert.rejects(new ControlServer({ path: join(theirs, 'control.sock'), handler: () => null }).start(), (err: unknown) => isWatchmeshError(err, 'CONTROL_UNAVAILABLE') && /another user/.test(err.message))
  }
})
