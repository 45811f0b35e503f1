import type { Io } from './io.js'

export interface DemoArgs {
  player: 'auto' | 'mpv' | 'simulated'
  verbose: boolean
  json: boolean
}

/** Runs the scripted three-viewer demo and prints what it measured. */
export async function runDemoCommand (args: DemoArgs, io: Io): Promise<number> {
  // Loaded here, not with the CLI: the demo's players speak MPRIS, and only it needs D-Bus.
  const { runDemo } = await import('../demo/demo.js')
  const result = await runDemo({ out: args.json ? io.err : io.out, player: args.player, verbose: args.verbose })
  if (args.json) io.out.write(JSON.stringify(result) + '\n')
  return 0
}
