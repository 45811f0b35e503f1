/**
 * Whether this machine's operating system keeps its clock in step with time servers. Two such
 * clocks are within a few ms of true time, which bounds what a lopsided network path can hide from
 * the two-way offset measurement; `status` says so per peer. Linux asks systemd (`timedatectl`);
 * elsewhere, or when it cannot answer (no systemd, a container), the answer is null: unknown.
 */
import { execFile } from 'node:child_process'

/** The probe runs once at start; a hung D-Bus must not hold the daemon up longer than this. */
export const CLOCK_PROBE_TIMEOUT_MS = 2000

/** `timedatectl show -p NTPSynchronized --value` prints `yes` or `no`; anything else is unknown. */
export function parseNtpSynchronized (stdout: string): boolean | null {
  const value = stdout.trim()
  if (value === 'yes') return true
  if (value === 'no') return false
  return null
}

export type RunCommand = (file: string, args: string[], timeoutMs: number) => Promise<string>

const runCommand: RunCommand = async (file, args, timeoutMs) => await new Promise((resolve, reject) => {
  execFile(file, args, { timeout: timeoutMs }, (err, stdout) => err === null ? resolve(stdout) : reject(err))
})

export async function osClockSynced (platform: NodeJS.Platform, run: RunCommand = runCommand): Promise<boolean | null> {
  if (platform !== 'linux') return null
  try {
    return parseNtpSynchronized(await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], CLOCK_PROBE_TIMEOUT_MS))
  } catch {
    return null // no systemd, no timedatectl: unknown, not unsynced
  }
}
