/** `signwatch <command> [options]`: dispatch to a subcommand; `signwatch --help` lists them. */
import { COMMANDS } from './commands.js';
import { CodedError } from '../platform/errors.js';
import { installEpipeHandler } from '../platform/stdout.js';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: signwatch <command> [options]\n\nKeychain and code-signing health for a macOS signing fleet.\n\nCommands:\n${lines.join('\n')}\n\nRun 'signwatch <command> --help' for a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write('signwatch 0.1.0\n');
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined; // argv is input: no prototype lookups
  if (!entry) {
    process.stderr.write(`signwatch: ${name}: unknown command\n\n${usage()}`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

installEpipeHandler();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CodedError) {
      // the message names the command, the bad input and why; the exit status is the catalogue's
      process.stderr.write(`${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`signwatch: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
