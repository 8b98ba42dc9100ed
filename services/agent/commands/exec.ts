/**
 * `signwatch agent exec [--config PATH] [--sink SPEC] -- <tool> <args…>`: the wrapper around codesign,
 * productsign, `xcrun notarytool` and `security set-key-partition-list`.
 *
 * Contract: the tool runs without a shell with the same argv, stdin, stdout and stderr bytes, and the wrapper
 * exits with the tool's exit status (or dies of the same signal); signals sent to the wrapper are forwarded.
 * stderr (and stdout for notarytool) is teed: written through unchanged and a bounded tail kept for
 * classification. Then one event is appended to the spool (fsync'd) before the wrapper returns. Nothing on this
 * path loads Kafka, OpenTelemetry or zod. A missing config or a broken spool never changes the tool's result.
 */
import { parseCommandArgs } from '../../platform/cli.js';
import { UsageError } from '../../platform/errors.js';
import { buildVia, drainStdio, runTool, stdio, toolKind, type ToolKind, type ToolRun } from '../tool-run.js';
import { parseSetKeyPartitionListArgs } from '../macos/security.js';

const HELP = `Usage: signwatch agent exec [--config PATH] [--sink ndjson:PATH|-] [--password-fd N] [--scan-output] -- <tool> [args…]

Run codesign, productsign, xcrun notarytool or security set-key-partition-list unchanged (same arguments,
stdin, stdout, stderr and exit status; no shell), and record one event in the spool.
Run xcodebuild, fastlane or electron-builder (also through xcrun, bundle exec, npx, yarn, pnpm) the same way,
with the build log teed and scanned: one codesign event per signing step, one notarize event per notarization.

Options:
  --config PATH     agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC       write the event to ndjson:PATH or - (stdout) instead of the spool
  --password-fd N   security set-key-partition-list only, without -k: read the keychain password from file
                    descriptor N and hand it to 'security -q -i' on its stdin, so it is in no process's argv
  --scan-output     scan any other command's output as a build log (a script that runs xcodebuild, …)
  -h, --help        show this help
`;

/**
 * `--password-fd N -- security set-key-partition-list … KC`: the password is read from FD N and the command goes to
 * `security -q -i` on stdin as `set-key-partition-list -k "<pw>" …` (security.c split_line quoting; -q drops the
 * interactive "returned N" trailer, no prompt is printed when stdin is not a tty), so stdout, stderr and the exit
 * status are the tool's and the password is in no argv.
 */
async function runWithPasswordFd(fdText: string, tool: string, kind: ToolKind, args: readonly string[]): Promise<ToolRun> {
  const fd = Number(fdText);
  if (!Number.isInteger(fd) || fd < 3) throw new UsageError(`signwatch agent exec: --password-fd: expected a file descriptor number ≥ 3, got '${fdText}'`);
  if (kind !== 'acl') throw new UsageError(`signwatch agent exec: --password-fd: only for 'security set-key-partition-list'`);
  const [sub, ...rest] = args;
  // -k in any getopt spelling (-k PW, -kPW, -sk PW): the password would be both in argv and on stdin
  if (parseSetKeyPartitionListArgs(rest).passwordGiven) throw new UsageError(`signwatch agent exec: --password-fd: remove '-k PASSWORD' from the security arguments`);
  if (args.length > 28) throw new UsageError(`signwatch agent exec: --password-fd: too many arguments for 'security -i' (max 28)`);
  const { readPasswordFd, quoteForSecurity, securityLine } = await import('./unlock.js');
  const password = readPasswordFd(fd);
  // the bytes security -i reads, quoting included (a 4000-character password of quotes and '€' is far longer)
  const line = securityLine('signwatch agent exec: --password-fd', [sub ?? '', '-k', password, ...rest].map(quoteForSecurity).join(' '));
  return runTool(tool, ['-q', '-i'], false, line);
}

function parseSink(spec: string | undefined): boolean {
  return spec === undefined || spec === '-' || (spec.startsWith('ndjson:') && spec.length > 7);
}

export interface ExecOptions {
  config?: string;
  sink?: string;
  'password-fd'?: string;
  'scan-output'?: boolean;
}

export const EXEC_OPTIONS = { config: { type: 'string' }, sink: { type: 'string' }, 'password-fd': { type: 'string' }, 'scan-output': { type: 'boolean' } } as const;

/**
 * The options before `--` in their plain spellings (none, as a signing call usually has; `--config PATH`,
 * `--config=PATH`, `--scan-output`), read without util.parseArgs, whose first call loads and compiles its modules
 * (about 1 ms of every signing call). Anything else (help, an unknown or ambiguous option, a positional) is
 * undefined, and parseCommandArgs then parses it or rejects it with its usual message. Where this returns values,
 * they are parseArgs' (test/unit/agent/exec-options.test.ts).
 */
export function quickExecOptions(head: readonly string[]): ExecOptions | undefined {
  const values: ExecOptions = {};
  for (let i = 0; i < head.length; i++) {
    const a = head[i] ?? '';
    if (a === '--scan-output') {
      values['scan-output'] = true;
      continue;
    }
    if (!a.startsWith('--')) return undefined;
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (name !== 'config' && name !== 'sink' && name !== 'password-fd') return undefined;
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      value = head[++i];
      // parseArgs (strict) refuses an option-like value ('--config -x') as ambiguous: leave that to it
      if (value === undefined || (value.length > 1 && value.startsWith('-'))) return undefined;
    }
    values[name] = value;
  }
  return values;
}

export async function runExec(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const sep = argv.indexOf('--');
  const head = sep >= 0 ? argv.slice(0, sep) : [];
  const tail = sep >= 0 ? argv.slice(sep + 1) : argv;
  if (sep < 0 && (argv.length === 0 || argv[0]?.startsWith('-'))) {
    if (argv.includes('--help') || argv.includes('-h')) {
      stdio('out').write(HELP);
      await drainStdio();
      return 0;
    }
    throw new UsageError(`signwatch agent exec: missing '-- <tool> [args…]'\nTry 'signwatch agent exec --help'.`);
  }
  const quick = quickExecOptions(head);
  const parsed = quick ? { values: quick } : parseCommandArgs('agent exec', head, EXEC_OPTIONS, HELP, false);
  if (!parsed) {
    await drainStdio(true); // the help went to process.stdout
    return 0;
  }
  if (!parseSink(parsed.values.sink)) throw new UsageError(`signwatch agent exec: --sink: expected ndjson:PATH or -, got '${parsed.values.sink}'`);
  const [tool, ...args] = tail;
  if (tool === undefined) throw new UsageError(`signwatch agent exec: missing <tool> after '--'`);

  // spawn first: loading the config, the classifiers and the spool code overlaps the tool's own run
  const kind = toolKind(tool, args);
  const via = kind === 'none' ? buildVia(tool, args) : undefined;
  const pwFd = parsed.values['password-fd'];
  if (kind !== 'none' && parsed.values['scan-output'] === true) {
    throw new UsageError(`signwatch agent exec: --scan-output: '${tool}' is recorded as a ${kind} call already; --scan-output is for build commands`);
  }
  if (via !== undefined || parsed.values['scan-output'] === true) {
    if (pwFd !== undefined) throw new UsageError(`signwatch agent exec: --password-fd: only for 'security set-key-partition-list'`);
    // a build: the scanner (loaded only here, never on the codesign path) must be ready for the first byte
    const { runBuild } = await import('./exec-build.js');
    return finish(await runBuild(tool, args, via, parsed.values.config, parsed.values.sink, env), true);
  }
  const running = pwFd === undefined ? runTool(tool, args, kind === 'notarytool') : await runWithPasswordFd(pwFd, tool, kind, args);
  if (kind !== 'none') {
    let record: ((run: ToolRun) => void) | undefined;
    try {
      const [{ loadConfig }, { parseSinkSpec }, { recordRun }] = await Promise.all([import('../config.js'), import('../spool/emit.js'), import('../record.js')]);
      const cfg = loadConfig(parsed.values.config, env);
      const sink = parseSinkSpec(parsed.values.sink) ?? { kind: 'spool' as const };
      record = (run) => recordRun(cfg, kind, args, run, sink, env);
    } catch (e) {
      // the signing call still runs to its end; the operator must still learn that nothing is being recorded
      stdio('err').write(`signwatch agent exec: ${(e as Error).message} (the tool runs; no event is recorded)\n`);
    }
    const run = await running;
    record?.(run);
    return finish(run, pwFd !== undefined);
  }
  return finish(await running, pwFd !== undefined);
}

/**
 * Once the tool's output is written through (and its event is durable): the exit status, or death by the tool's
 * signal. Resolves only when every byte the wrapper wrote is out, so the caller may exit at once (bin/signwatch
 * does). `all`: drain process.stdout and process.stderr whoever wrote to them (builds, --password-fd), not only
 * what went through stdio().
 */
async function finish(run: ToolRun, all = false): Promise<number> {
  await drainStdio(all);
  if (run.signal) {
    // die of the same signal; if it is ignored (SIGPIPE) or not fatal, fall back to the 128+n status
    process.kill(process.pid, run.signal);
  }
  return run.exitCode;
}
