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

/** `--runs N` and `--json`, the flags of the benchmarks that repeat one measurement. */
export interface RunsArgs { runs: number, json: boolean }

export function runsArgsParser (defaultRuns: number, maxRuns: number): (argv: string[]) => RunsArgs {
  return argv => {
    const args: RunsArgs = { runs: defaultRuns, json: false }
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]
      if (a === '--json') args.json = true
      else if (a === '--runs') args.runs = Number(argv[++i])
      else throw new UsageError(`unknown argument ${String(a)}; use --runs N, --json`)
    }
    if (!Number.isInteger(args.runs) || args.runs < 1 || args.runs > maxRuns) throw new UsageError(`--runs must be a whole number from 1 to ${maxRuns}`)
    return args
  }
}
