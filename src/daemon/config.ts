/**
 * The config file ($XDG_CONFIG_HOME/watchmesh/config.json) holds defaults for `join`; flags override
 * it. A file we cannot read or understand is reported with its path, never silently ignored.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { WatchmeshError } from '../errors.js'
import { configDir } from './paths.js'

export interface Config {
  name?: string
  player?: string
  /** host:port[,host:port...] as on the command line. */
  bootstrap?: string
  notify?: boolean
  /** As --output-delay: how late this viewer hears their player, ms. */
  outputDelayMs?: number
}

const KEYS: Record<keyof Config, 'string' | 'boolean' | 'number'> = { name: 'string', player: 'string', bootstrap: 'string', notify: 'boolean', outputDelayMs: 'number' }

export function configFile (env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json')
}

export async function loadConfig (path: string): Promise<Config> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new WatchmeshError('CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new WatchmeshError('CONFIG_INVALID', `${path} is not valid JSON: ${(err as Error).message}`)
  }
  return parseConfig(data, path)
}

export function parseConfig (data: unknown, path: string): Config {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new WatchmeshError('CONFIG_INVALID', `${path} must hold a JSON object such as {"name": "alice"}`)
  }
  const config: Config = {}
  for (const [key, value] of Object.entries(data)) {
    const type = KEYS[key as keyof Config]
    if (type === undefined) {
      throw new WatchmeshError('CONFIG_INVALID', `${path}: unknown setting "${key}" (known: ${Object.keys(KEYS).join(', ')})`)
    }
    if (typeof value !== type) throw new WatchmeshError('CONFIG_INVALID', `${path}: "${key}" must be a ${type}`)
    Object.assign(config, { [key]: value })
  }
  return config
}
