/** The rules per system (platform.ts), each checked with an injected platform on any machine. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  configDir, controlEndpoint, defaultMpvIpcPath, endpointsAreFiles, executable, hostPlatform, identityProtection,
  isNamedPipe, mpvInstallHint, ownMpvIpcPath, runtimeDir, stopSignals
} from '../../src/platform.js'
import type { PlatformContext } from '../../src/platform.js'
import { configDir as hostConfigDir, controlPath, runtimeDir as hostRuntimeDir } from '../../src/daemon/paths.js'

const linux: PlatformContext = { platform: 'linux', env: {}, home: '/home/ann', tmp: '/tmp', uid: 1000, user: 'ann' }
const mac: PlatformContext = { platform: 'darwin', env: {}, home: '/Users/ann', tmp: '/var/folders/xy/T', uid: 501, user: 'ann' }
const windows: PlatformContext = {
  platform: 'win32', env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming', Path: 'C:\\Windows;C:\\Program Files\\mpv' },
  home: 'C:\\Users\\ann', tmp: 'C:\\Users\\ann\\AppData\\Local\\Temp', uid: null, user: 'ann smith'
}

test('config and identity directory per system', () => {
  assert.equal(configDir(linux), '/home/ann/.config/watchmesh')
  assert.equal(configDir({ ...linux, env: { XDG_CONFIG_HOME: '/xdg' } }), '/xdg/watchmesh')
  assert.equal(configDir({ ...linux, env: { XDG_CONFIG_HOME: '' } }), '/home/ann/.config/watchmesh', 'an empty XDG variable counts as unset')
  assert.equal(configDir(mac), '/Users/ann/Library/Application Support/watchmesh')
  assert.equal(configDir(windows), 'C:\\Users\\ann\\AppData\\Roaming\\watchmesh')
  assert.equal(configDir({ ...windows, env: {} }), 'C:\\Users\\ann\\AppData\\Roaming\\watchmesh', 'no %APPDATA%: its usual place')
  assert.equal(configDir({ ...linux, platform: 'freebsd' }), '/home/ann/.config/watchmesh', 'other Unix systems follow XDG')
})

test('runtime directory and the control endpoint per system', () => {
  assert.equal(runtimeDir(linux), '/tmp/watchmesh-1000')
  assert.equal(runtimeDir({ ...linux, env: { XDG_RUNTIME_DIR: '/run/user/1000' } }), '/run/user/1000/watchmesh')
  assert.equal(controlEndpoint({ ...linux, env: { XDG_RUNTIME_DIR: '/run/user/1000' } }), '/run/user/1000/watchmesh/control.sock')
  assert.equal(controlEndpoint(mac), '/var/folders/xy/T/watchmesh-501/control.sock')
  assert.equal(controlEndpoint(windows), '\\\\.\\pipe\\watchmesh-ann_smith-control', 'a named pipe, per user')
  assert.equal(controlEndpoint({ ...linux, env: { WATCHMESH_CONTROL: '/x.sock' } }), '/x.sock')
  assert.equal(controlEndpoint(windows, '\\\\.\\pipe\\mine'), '\\\\.\\pipe\\mine', '--control wins')
  assert.equal(endpointsAreFiles(linux), true)
  assert.equal(endpointsAreFiles(windows), false)
  assert.equal(isNamedPipe(controlEndpoint(windows)), true)
  assert.equal(isNamedPipe(controlEndpoint(linux)), false)
})

test('what protects the identity file, and which signals end the daemon', () => {
  assert.equal(identityProtection(linux).fileMode, 0o600)
  assert.equal(identityProtection(mac).fileMode, 0o600)
  const win = identityProtection(windows)
  assert.equal(win.fileMode, null)
  assert.match(win.how, /no Unix file modes/)
  assert.match(win.how, /APPDATA/)
  assert.deepEqual(stopSignals(linux), ['SIGINT', 'SIGTERM'])
  assert.deepEqual(stopSignals(mac), ['SIGINT', 'SIGTERM'])
  assert.deepEqual(stopSignals(windows), ['SIGINT', 'SIGBREAK'], 'Windows has Ctrl-C and Ctrl-Break, no SIGTERM')
})

test('mpv: IPC paths, executable lookup and the install hint per system', () => {
  assert.equal(defaultMpvIpcPath(linux), '/tmp/mpvsocket')
  assert.equal(defaultMpvIpcPath(windows), '\\\\.\\pipe\\mpvsocket')
  assert.equal(ownMpvIpcPath({ ...linux, env: { XDG_RUNTIME_DIR: '/run/user/1000' } }, 42), '/run/user/1000/watchmesh/mpv-42.sock')
  assert.equal(ownMpvIpcPath(windows, 42), '\\\\.\\pipe\\watchmesh-ann_smith-mpv-42')
  assert.deepEqual(executable({ ...linux, env: { PATH: '/usr/bin::/bin' } }, 'mpv'), { file: 'mpv', dirs: ['/usr/bin', '/bin'] })
  assert.deepEqual(executable(windows, 'mpv'), { file: 'mpv.exe', dirs: ['C:\\Windows', 'C:\\Program Files\\mpv'] })
  assert.match(mpvInstallHint(linux), /apt install mpv/)
  assert.match(mpvInstallHint(mac), /brew install mpv/)
  assert.match(mpvInstallHint(windows), /winget/)
  assert.match(mpvInstallHint(windows), /scoop install mpv/)
})

test('on this machine the daemon paths are the platform rules for it (Linux behaviour unchanged)', () => {
  const env = { XDG_CONFIG_HOME: '/c', XDG_RUNTIME_DIR: '/r' }
  assert.equal(hostConfigDir(env), configDir(hostPlatform(env)))
  assert.equal(hostRuntimeDir(env), runtimeDir(hostPlatform(env)))
  assert.equal(controlPath(env), controlEndpoint(hostPlatform(env)))
  if (process.platform === 'linux') {
    assert.equal(hostConfigDir(env), '/c/watchmesh')
    assert.equal(controlPath(env), '/r/watchmesh/control.sock')
  }
})
