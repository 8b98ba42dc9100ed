/**
 * What every subcommand shares: argument parsing with node:util.parseArgs (strict: an unknown flag is an error that
 * names it, in signwatch's own words), `--help`, and the one message style `signwatch <cmd>: <what>: <why>`.
 * Exit statuses come from the error catalogue (errors.ts): 0 ok, 1 runtime failure, 2 bad usage or bad config.
 * No dependency beyond node: the agent's exec wrapper imports this file.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export interface CommandModule {
  /** Returns the exit code. Throws a CodedError (UsageError for bad usage). */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** "-c, --config <value>" → "--config". */
const flagName = (spec: string): string => spec.replace(/^-\w, /, '').replace(/ <value>$/, '');

/** node's parseArgs messages, reworded: the flag in quotes, what is wrong, no internal advice. */
export function usageMessage(command: string, raw: string): string {
  let m: RegExpExecArray | null;
  if ((m = /^Unknown option '([^']+)'/.exec(raw))) return `signwatch ${command}: ${m[1]}: unknown option`;
  if ((m = /^Option '([^']+)' argument missing/.exec(raw))) return `signwatch ${command}: ${flagName(m[1]!)}: needs a value`;
  if ((m = /^Option '([^']+)' does not take an argument/.exec(raw))) return `signwatch ${command}: ${flagName(m[1]!)}: takes no value`;
  if ((m = /^Unexpected argument '([^']+)'/.exec(raw))) return `signwatch ${command}: ${m[1]}: unexpected argument (this command takes none)`;
  return `signwatch ${command}: ${raw.replace(/\s*To specify an option argument.*$/s, '')}`;
}

export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, help: string, allowPositionals = true) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return undefined;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(`${usageMessage(command, (e as Error).message)}\nTry 'signwatch ${command} --help'.`);
  }
}
