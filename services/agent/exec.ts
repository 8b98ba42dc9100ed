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
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parseCommandArgs, UsageError } from '../common/cli.js';

const HELP = `Usage: signwatch agent exec [--config PATH] [--sink ndjson:PATH|-] -- <tool> [args…]

Run codesign, productsign, xcrun notarytool or security set-key-partition-list unchanged (same arguments,
stdin, stdout, stderr and exit status; no shell), and record one event in the spool.

Options:
  --config PATH   agent config (default: $SIGNWATCH_AGENT_CONFIG or /usr/local/etc/signwatch/agent.json)
  --sink SPEC     write the event to ndjson:PATH or - (stdout) instead of the spool
  -h, --help      show this help
`;

export type ToolKind = 'codesign' | 'productsign' | 'notarytool' | 'acl' | 'none';

export function toolKind(tool: string, args: readonly string[]): ToolKind {
  const name = basename(tool);
  if (name === 'codesign') return 'codesign';
  if (name === 'productsign') return 'productsign';
  if (name === 'notarytool') return 'notarytool';
  if (name === 'xcrun' && args.includes('notarytool')) return 'notarytool';
  if (name === 'security' && args[0] === 'set-key-partition-list') return 'acl';
  return 'none';
}

/** Bounded tail of a stream: the end of stderr is where the errors are. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()?.length ?? 0;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface ToolRun {
  exitCode: number;
  signal: NodeJS.Signals | null;
  durationMs: number;
  stdout: string;
  stderr: string;
  spawnError?: string;
}

/** Run the tool with pass-through stdio, tee-ing stderr (and stdout when asked) into bounded tails. */
export function runTool(tool: string, args: readonly string[], captureStdout: boolean): Promise<ToolRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const errTail = new Tail(64 * 1024);
    const outTail = new Tail(256 * 1024);
    let done = false;
    const child = spawn(tool, args, { stdio: ['inherit', captureStdout ? 'pipe' : 'inherit', 'pipe'] });
    const handlers = FORWARDED.map((sig) => {
      const h = () => {
        child.kill(sig);
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
    const finish = (run: Omit<ToolRun, 'durationMs' | 'stdout' | 'stderr'>) => {
      if (done) return;
      done = true;
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve({ ...run, durationMs: Math.round(performance.now() - t0), stdout: outTail.text(), stderr: errTail.text() });
    };
    child.stderr?.on('data', (b: Buffer) => {
      process.stderr.write(b);
      errTail.push(b);
    });
    child.stdout?.on('data', (b: Buffer) => {
      process.stdout.write(b);
      outTail.push(b);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      const exitCode = e.code === 'ENOENT' ? 127 : 126;
      process.stderr.write(`signwatch agent exec: ${tool}: ${e.code === 'ENOENT' ? 'command not found' : e.message}\n`);
      finish({ exitCode, signal: null, spawnError: e.code ?? 'spawn_failed' });
    });
    child.on('close', (code, signal) => {
      const exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1);
      finish({ exitCode, signal });
    });
  });
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

function parseSink(spec: string | undefined): boolean {
  return spec === undefined || spec === '-' || (spec.startsWith('ndjson:') && spec.length > 7);
}

export async function runExec(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const sep = argv.indexOf('--');
  const head = sep >= 0 ? argv.slice(0, sep) : [];
  const tail = sep >= 0 ? argv.slice(sep + 1) : argv;
  if (sep < 0 && (argv.length === 0 || argv[0]?.startsWith('-'))) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(HELP);
      return 0;
    }
    throw new UsageError(`signwatch agent exec: missing '-- <tool> [args…]'\nTry 'signwatch agent exec --help'.`);
  }
  const parsed = parseCommandArgs('agent exec', head, { config: { type: 'string' }, sink: { type: 'string' } }, HELP, false);
  if (!parsed) return 0;
  if (!parseSink(parsed.values.sink)) throw new UsageError(`signwatch agent exec: --sink: expected ndjson:PATH or -, got '${parsed.values.sink}'`);
  const [tool, ...args] = tail;
  if (tool === undefined) throw new UsageError(`signwatch agent exec: missing <tool> after '--'`);

  // spawn first: loading the config, the classifiers and the spool code overlaps the tool's own run
  const kind = toolKind(tool, args);
  const running = runTool(tool, args, kind === 'notarytool');
  if (kind !== 'none') {
    const [{ ConfigError, loadConfig }, { parseSinkSpec }, { recordRun }] = await Promise.all([import('./config.js'), import('./emit.js'), import('./record.js')]);
    let cfg;
    try {
      cfg = loadConfig(parsed.values.config, env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // the signing call still runs; the operator must still learn that nothing is being recorded
      process.stderr.write(`signwatch agent exec: ${e.message} (the tool runs; no event is recorded)\n`);
    }
    const run = await running;
    if (cfg) recordRun(cfg, kind, args, run, parseSinkSpec(parsed.values.sink) ?? { kind: 'spool' }, env);
    return finish(run);
  }
  return finish(await running);
}

async function finish(run: ToolRun): Promise<number> {
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  if (run.signal) {
    // die of the same signal; if it is ignored (SIGPIPE) or not fatal, fall back to the 128+n status
    process.kill(process.pid, run.signal);
  }
  return run.exitCode;
}
