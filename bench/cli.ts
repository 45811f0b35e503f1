/** The shell of a long-running benchmark's command line: a bad flag is exit 2 with its message, a failure exit 1. */
export class UsageError extends Error {}

export function runBenchmark<A> (name: string, parse: (argv: string[]) => A, run: (args: A) => Promise<number>): void {
  const main = async (): Promise<number> => {
    let args: A
    try {
      args = parse(process.argv.slice(2))
    } catch (err) {
      if (err instanceof UsageError) { process.stderr.write(`${err.message}\n`); return 2 }
      throw err
    }
    return await run(args)
  }
  main().then(code => { process.exitCode = code }, (err: unknown) => {
    process.stderr.write(`${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exitCode = 1
  })
}
