import { readFileSync } from 'node:fs'

/** The version in package.json (two levels above dist/src/cli, three above src/cli at the source). */
export function packageVersion (): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'watchmesh' && typeof pkg.version === 'string') return pkg.version
    } catch {}
  }
  return 'unknown'
}
