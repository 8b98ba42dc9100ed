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
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parseCommandArgs, UsageError } from '../common/cli.js';
import { classifyCodesignStderr, parseCodesignArgs } from './codesign.js';
import { ConfigError, inMaintenanceWindow, loadConfig, type AgentConfig } from './config.js';
import { emitEvents, logAgentError, parseSinkSpec, type SinkSpec } from './emit.js';
import { baseEvent, type WireEvent } from './events.js';
import { classifyNotaryError, outcomeOfStatus, parseNotaryOutput } from './notary.js';
import { parseKeychainList, parseSetKeyPartitionListArgs } from './security.js';
import { identityFor, readState, writeState, type HostState } from './state.js';

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

function resolveKeychain(explicit: string | undefined, cfg: AgentConfig, state: HostState): string {
  if (explicit) return explicit;
  if (state.searchList[0]) return state.searchList[0];
  if (cfg.keychain) return cfg.keychain;
  // no scan yet: ask security once (bounded), so the event still names the keychain in use
  const r = spawnSync('security', ['list-keychains'], { encoding: 'utf8', timeout: 3000 });
  return parseKeychainList(r.stdout ?? '')[0] ?? 'unknown';
}

/** The event for one wrapped run, or undefined when the tool is not one the agent records. */
export function eventForRun(
  cfg: AgentConfig,
  kind: ToolKind,
  args: readonly string[],
  run: ToolRun,
  state: HostState,
  now: number,
  env: NodeJS.ProcessEnv = process.env,
): WireEvent | undefined {
  if (kind === 'codesign' || kind === 'productsign') {
    const a = parseCodesignArgs(args);
    const keychain = resolveKeychain(a.keychain, cfg, state);
    const ev = baseEvent(cfg, 'codesign', now, env);
    ev.tool = kind;
    ev.outcome = run.exitCode === 0 && run.signal === null ? 'ok' : 'fail';
    ev.durationMs = run.durationMs;
    ev.exitCode = run.exitCode;
    ev.keychain = keychain;
    ev.partitionIds = state.partitionIds[keychain] ?? [];
    const identity = identityFor(a.sign, state);
    if (identity !== undefined) ev.identity = identity;
    ev.invocationId = ev.id;
    if (ev.outcome === 'fail') {
      if (run.spawnError) ev.error = { code: `spawn_${run.spawnError}`, osStatus: null, class: 'other', message: `cannot run ${kind}` };
      else if (run.signal) ev.error = { code: `signal_${run.signal}`, osStatus: null, class: 'other', message: `killed by ${run.signal}` };
      else ev.error = classifyCodesignStderr(run.stderr, run.exitCode);
    }
    return ev;
  }
  if (kind === 'notarytool') {
    const sub = args[args.indexOf('notarytool') + 1] ?? args[0];
    if (sub !== 'submit' && sub !== 'wait') return undefined;
    const parsed = parseNotaryOutput(run.stdout, run.stderr);
    const outcome = outcomeOfStatus(parsed.status);
    const ev = baseEvent(cfg, 'notarize', now, env);
    ev.durationMs = run.durationMs;
    ev.attempts = 1;
    if (parsed.submissionId) ev.submissionId = parsed.submissionId;
    if (outcome) {
      ev.outcome = outcome;
      return ev;
    }
    if (run.exitCode === 0) return undefined; // uploaded, no final status (no --wait): nothing to report yet
    const text = parsed.errorText ?? (run.stderr.trim().split('\n').pop() || `exit status ${run.exitCode}`);
    const f = classifyNotaryError(text);
    ev.outcome = 'error';
    ev.error = { class: f.class, code: f.code, message: text.slice(0, 4096) };
    return ev;
  }
  if (kind === 'acl') {
    const p = parseSetKeyPartitionListArgs(args.slice(1));
    const ev = baseEvent(cfg, 'acl', now, env);
    ev.command = 'set-key-partition-list';
    ev.keychain = p.keychain ?? state.searchList[0] ?? cfg.keychain ?? 'unknown';
    ev.partitionIds = p.partitionIds;
    ev.declared = inMaintenanceWindow(cfg, now);
    ev.exitCode = run.exitCode;
    ev.outcome = run.exitCode === 0 ? 'ok' : 'fail';
    return ev;
  }
  return undefined;
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
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
  const sink: SinkSpec | undefined = parseSinkSpec(parsed.values.sink);
  if (!sink) throw new UsageError(`signwatch agent exec: --sink: expected ndjson:PATH or -, got '${parsed.values.sink}'`);
  const [tool, ...args] = tail;
  if (tool === undefined) throw new UsageError(`signwatch agent exec: missing <tool> after '--'`);

  let cfg: AgentConfig | undefined;
  try {
    cfg = loadConfig(parsed.values.config, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // the signing call still runs; the operator must still learn that nothing is being recorded
    process.stderr.write(`signwatch agent exec: ${e.message} (the tool runs; no event is recorded)\n`);
  }
  const kind = toolKind(tool, args);
  const run = await runTool(tool, args, kind === 'notarytool');
  if (cfg && kind !== 'none') {
    try {
      const state = readState(cfg.dataDir);
      const ev = eventForRun(cfg, kind, args, run, state, Date.now(), env);
      if (ev) {
        const r = emitEvents(cfg, [ev], sink);
        if (r.dropped > 0) logAgentError(cfg, `spool full: dropped ${r.dropped} oldest event(s)`);
        if (kind === 'acl' && run.exitCode === 0 && typeof ev.keychain === 'string') {
          state.partitionIds[ev.keychain] = ev.partitionIds as string[];
          writeState(cfg.dataDir, state);
        }
      }
    } catch (e) {
      logAgentError(cfg, `exec: ${(e as Error).message}`);
    }
  }
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  if (run.signal) {
    process.kill(process.pid, run.signal);
    // a signal whose default action is not to terminate (or one we cannot re-raise): fall back to 128+n
  }
  return run.exitCode;
}
