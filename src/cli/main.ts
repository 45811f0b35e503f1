/**
 * The command line: an option table per command, `main(argv)` returns an exit code.
 * Commands do the work in their own modules; nothing here calls process.exit.
 * A command's module is loaded only when that command runs: `join` must not wait for what
 * `status` or `dht` need (and `status`, run often, not for the mesh and the KDF), and a restarted
 * daemon is back in its room the sooner.
 */
import yargs from 'yargs'
import { isWatchmeshError, WatchmeshError } from '../errors.js'
import { packageVersion } from './version.js'
import { DHT_DEFAULT_PORT } from './dht-port.js'
import type { Io } from './io.js'
import { defaultIo } from './io.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export async function main (argv: string[], io: Io = defaultIo()): Promise<number> {
  let exitCode = EXIT_OK

  /** Command handlers record their exit code; yargs awaits them through parseAsync. */
  const run = async (work: () => Promise<number> | number): Promise<void> => { exitCode = await work() }

  const cli = yargs(stdinOperands(argv))
    .scriptName('watchmesh')
    .usage('$0 <command> [options]\n\nWatch the same film with friends elsewhere: everyone plays their own copy, watchmesh keeps the players in step.')
    .command('join [passphrase]', 'join a room and keep your media player in step with everyone in it', y => y
      .positional('passphrase', { type: 'string', describe: 'the room\'s shared secret (everyone uses the same one); leave it out to be asked for it without echo (an argument is visible to other users in ps)' })
      .option('passphrase-file', { type: 'string', describe: 'read the passphrase from this file\'s first line instead; - reads standard input (keeps it out of the process list)' })
      .option('name', { type: 'string', describe: 'your display name (default: your user name)' })
      .option('player', { type: 'string', describe: 'which MPRIS player to follow: bus name or identity (default: the playing one, else the only one)' })
      .option('open', { type: 'string', describe: 'start mpv on this file (paused until the room\'s state is known) and follow it over its JSON IPC; leaving mpv leaves the room' })
      .option('mpv', { type: 'string', describe: 'the mpv executable --open starts (default: mpv on PATH)' })
      .option('mpv-ipc', { type: 'string', describe: 'follow the mpv started with --input-ipc-server=<path> (a named pipe \\\\.\\pipe\\NAME on Windows), and again whenever a new one opens there' })
      .option('osd', { type: 'boolean', default: true, describe: 'with mpv over IPC, show what others do on the video (--no-osd: only in the terminal)' })
      .option('bootstrap', { type: 'string', describe: 'private DHT bootstrap nodes, host:port[,host:port...] (default: the public Hyperswarm DHT)' })
      .option('verbose', { type: 'boolean', alias: 'v', describe: 'also print clock, drift and connection details' })
      .option('quiet', { type: 'boolean', alias: 'q', describe: 'print only warnings and errors' })
      .option('log-json', { type: 'boolean', describe: 'print one JSON object per line (for machines)' })
      .option('notify', { type: 'boolean', describe: 'show other people\'s actions and chat as desktop notifications' })
      .option('operator-file', { type: 'string', describe: 'managed room: read the operator secret from this file\'s first line; only operators control playback (see `watchmesh passphrase --managed`)' })
      .option('output-delay', { type: 'number', describe: 'your sound reaches you this many ms late (Bluetooth headphones: 100-300, a TV: its audio delay): your player runs that far ahead so that everyone hears the same moment (config: outputDelayMs)' })
      .option('control', { type: 'string', describe: 'control socket path for `watchmesh status` (default: $WATCHMESH_CONTROL, else in $XDG_RUNTIME_DIR)' })
      .conflicts('verbose', 'quiet')
      .example('$0 join "movie night"', 'join the room "movie night" with the player that is playing (MPRIS, Linux)')
      .example('$0 join "movie night" --open film.mkv', 'start mpv on film.mkv and keep it in step (Linux, macOS, Windows)')
      .example('$0 join "movie night" --mpv-ipc /tmp/mpvsocket', 'follow the mpv you started with --input-ipc-server=/tmp/mpvsocket'),
    args => run(async () => (await import('./join.js')).runJoin({
      passphrase: args.passphrase,
      passphraseFile: args['passphrase-file'],
      name: args.name,
      player: args.player,
      bootstrap: args.bootstrap,
      control: args.control,
      notify: args.notify,
      open: args.open,
      mpv: args.mpv,
      mpvIpc: args['mpv-ipc'],
      outputDelayMs: args['output-delay'],
      operatorFile: args['operator-file'],
      osd: args.osd !== false,
      verbose: args.verbose === true,
      quiet: args.quiet === true,
      logJson: args['log-json'] === true
    }, io)))
    .command('players', 'list the media players watchmesh can see here: MPRIS players on the session bus, mpv IPC sockets', y => y
      .option('mpv-ipc', { type: 'string', describe: 'also look for an mpv on this IPC path' })
      .option('json', { type: 'boolean', describe: 'print JSON' }),
    args => run(async () => (await import('./players.js')).runPlayers({ json: args.json === true, mpvIpc: args['mpv-ipc'] as string | undefined }, io)))
    .command('status', 'show who is in the room, the leader, playback and skew (asks the running daemon)', y => y
      .option('json', { type: 'boolean', describe: 'print JSON' })
      .option('control', { type: 'string', describe: 'control socket of the daemon to ask (default: $WATCHMESH_CONTROL, else in $XDG_RUNTIME_DIR)' }),
    args => run(async () => (await import('./status.js')).runStatus({ json: args.json === true, control: args.control }, io)))
    .command('say <message>', 'say a line to everyone in the room: their terminals, desktop notifications (--notify) and video where the player can (asks the running daemon)', y => y
      .positional('message', { type: 'string', describe: 'what to say (one line, at most 200 characters)' })
      .option('control', { type: 'string', describe: 'control socket of the daemon to ask (default: $WATCHMESH_CONTROL, else in $XDG_RUNTIME_DIR)' })
      .example('$0 say "back in 5"', 'everyone sees "alice: back in 5"'),
    args => run(async () => (await import('./say.js')).runSay({ text: String(args.message ?? ''), control: args.control }, io)))
    .command('demo', 'try it now on this machine: three viewers, a local DHT, scripted pause/seek/resume, measured skew', y => y
      .option('player', { choices: ['auto', 'mpv', 'simulated'] as const, default: 'auto' as const, describe: 'real mpv (needs mpv + mpv-mpris) or the built-in simulated player' })
      .option('verbose', { type: 'boolean', alias: 'v', describe: 'also show every viewer\'s own log lines' })
      .option('json', { type: 'boolean', describe: 'print what it measured as one JSON object on stdout' }),
    args => run(async () => (await import('./demo.js')).runDemoCommand({ player: args.player, verbose: args.verbose === true, json: args.json === true }, io)))
    .command('dht', 'run a private DHT bootstrap node (a party on a LAN, no public DHT): prints the --bootstrap value for the others, runs until Ctrl-C', y => y
      .option('host', { type: 'string', describe: 'this machine\'s IPv4 address as the others reach it (default: its first non-loopback one); it listens on every interface' })
      .option('port', { type: 'number', default: DHT_DEFAULT_PORT, describe: 'UDP port to listen on' })
      .example('$0 dht', 'then everyone runs: watchmesh join <passphrase> --bootstrap <printed address>'),
    args => run(async () => (await import('./dht.js')).runDht({ host: args.host as string | undefined, port: args.port }, io)))
    .command('passphrase', 'print a new strong, pronounceable passphrase to share with your friends', y => y
      .option('managed', { type: 'boolean', describe: 'a managed room: a passphrase for viewers and an operator secret; only those holding the secret control playback' }),
    args => run(async () => (await import('./passphrase.js')).runPassphrase(io, { managed: args.managed === true })))
    .demandCommand(1, 'say which command to run, e.g. `watchmesh join "movie night"`')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .alias('version', 'V')
    .wrap(Math.min(100, io.columns ?? 100))
    .exitProcess(false)
    // Throwing stops yargs from running the command after a validation failure.
    .fail((msg, err) => {
      if (err !== undefined && err !== null) throw err
      throw WatchmeshError.badUsage(`${msg}\nRun \`watchmesh --help\` for usage.`)
    })

  try {
    await cli.parseAsync()
  } catch (err) {
    if (isWatchmeshError(err)) {
      io.err.write(`watchmesh: ${err.message}\n`)
      return err.code === 'BAD_USAGE' || err.code === 'BAD_BOOTSTRAP' || err.code === 'BAD_PASSPHRASE' ? EXIT_USAGE : EXIT_FAILURE
    }
    io.err.write(`watchmesh: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    return EXIT_FAILURE
  }
  return exitCode
}

/**
 * yargs takes a lone `-` for a positional, never for an option's value, so `--passphrase-file -`
 * (standard input, as the help says) would read as a passphrase `-` and no file. It is fused into
 * `--passphrase-file=-`, which yargs reads as meant.
 */
function stdinOperands (argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--passphrase-file' && argv[i + 1] === '-') {
      out.push('--passphrase-file=-')
      i++
    } else {
      out.push(argv[i] as string)
    }
  }
  return out
}
