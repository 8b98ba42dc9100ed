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

/**
 * The name an error message gives: `store import`, not `store`, when the command takes subcommands as its first
 * positional and one of them is in argv (the first word that is neither a flag nor a flag's value).
 */
export function commandName(command: string, argv: readonly string[], options: Options, subcommands: readonly string[] = []): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      const spec = a.startsWith('--') ? options[a.slice(2)] : Object.values(options).find((o) => o.short === a.slice(1));
      if (spec?.type === 'string' && !a.includes('=')) i++;
      continue;
    }
    return subcommands.includes(a) ? `${command} ${a}` : command;
  }
  return command;
}

export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, help: string, allowPositionals = true, subcommands: readonly string[] = []) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return undefined;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    const name = commandName(command, argv, options, subcommands);
    throw new UsageError(`${usageMessage(name, (e as Error).message)}\nTry 'signwatch ${name} --help'.`);
  }
}

/**
 * What `--quiet` means in every command: bad input lines are counted by kind ("schema", "not JSON", …: the reason up
 * to its first colon) and summarised in one line at the end, not listed one by one.
 */
export class BadLineTally {
  private readonly counts = new Map<string, number>();
  total = 0;
  add(reason: string): void {
    const kind = reason.split(':')[0]!.trim() || 'other';
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.total++;
  }
  /** "schema 500, not JSON 16" (largest first), or "" when nothing was bad. */
  summary(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${k} ${n}`).join(', ');
  }
}
