/**
 * Small shared pieces of every subcommand: argument parsing with node:util.parseArgs (strict: unknown flags
 * are errors that name the flag), `--help`, and coded errors mapped to exit codes
 * (0 ok, 1 runtime failure such as unreadable input, 2 bad usage or bad config).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  readonly code = 'SW_USAGE';
  readonly exitCode = 2;
}

export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CommandModule {
  /** Returns the exit code. Throws UsageError for bad usage. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  help: string,
  allowPositionals = true,
) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return undefined;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(`signwatch ${command}: ${(e as Error).message}\nTry 'signwatch ${command} --help'.`);
  }
}
