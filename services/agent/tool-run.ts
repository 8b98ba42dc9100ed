/**
 * Running a wrapped tool: no shell, stdin/stdout inherited (stdout teed for notarytool), stderr teed, signals
 * forwarded, exit status or signal reported. Shared by `agent exec` and the demo's simulated hosts.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';

export type ToolKind = 'codesign' | 'productsign' | 'notarytool' | 'acl' | 'none';

/** The build tools whose output `agent exec` scans for signing steps (services/agent/build/scanner.ts). */
export type BuildVia = 'xcodebuild' | 'fastlane' | 'electron-builder';

/** Skip a runner's own options (`npx --yes`, `bundle exec`, `yarn run`…) to the tool it runs. */
function runnerTarget(args: readonly string[]): string | undefined {
  for (const a of args) {
    if (a === 'exec' || a === 'run' || a.startsWith('-')) continue;
    return basename(a);
  }
  return undefined;
}

/** Which build tool this command line runs (directly or through xcrun, bundle exec, npx, yarn, pnpm), if any. */
export function buildVia(tool: string, args: readonly string[]): BuildVia | undefined {
  const name = basename(tool);
  const target = name === 'xcrun' || name === 'bundle' || name === 'npx' || name === 'yarn' || name === 'pnpm' || name === 'npm' ? runnerTarget(args) : name;
  if (target === 'xcodebuild') return 'xcodebuild';
  if (target === 'fastlane') return 'fastlane';
  if (target === 'electron-builder') return 'electron-builder';
  return undefined;
}

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

const opened = new Set<NodeJS.WriteStream>();
const ignore = () => undefined;

/**
 * process.stdout / process.stderr for the wrapper's own writes, created on first use only: creating one costs
 * start-up (a pipe is a net.Socket) and makes a pipe non-blocking (libuv), and a codesign call that prints nothing
 * needs neither. If our own side is gone (EPIPE), writes are dropped and the tool keeps its exit status: never
 * crash on it. drainStdio() waits for the ones that were used.
 */
export function stdio(side: 'out' | 'err'): NodeJS.WriteStream {
  const s = side === 'out' ? process.stdout : process.stderr;
  if (!opened.has(s)) {
    opened.add(s);
    s.on('error', ignore);
  }
  return s;
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) resolve();
    else stream.write('', () => resolve());
  });
}

/** Resolves once every byte written through stdio() (or, with `all`, to process.stdout and process.stderr) is out. */
export async function drainStdio(all = false): Promise<void> {
  if (all) {
    stdio('out');
    stdio('err');
  }
  await Promise.all([...opened].map(drain));
}

export interface ToolRun {
  exitCode: number;
  signal: NodeJS.Signals | null;
  durationMs: number;
  stdout: string;
  stderr: string;
  spawnError?: string;
  /** The stdout tee (services/agent/build/fast-tee.ts) had a problem: what, for agent-errors.log. */
  teeError?: string;
}

/** A tee of the tool's stdout done outside this file (services/agent/build/fast-tee.ts): the fd the tool writes to. */
export interface StdoutTee {
  fd: number;
  started(): void;
  done: Promise<{ error?: string }>;
}

/**
 * Run the tool with pass-through stdio, tee-ing stderr (and stdout when asked) into bounded tails. With `input`,
 * the tool's stdin is a pipe fed with it instead of the wrapper's stdin. With `onOutput`, every chunk of both
 * streams is handed to it after it was written through (build logs: stdout is then not kept in a tail). With
 * `stdoutTee` (build logs), the tool's stdout is that tee's fd: it writes through and calls onOutput itself.
 */
export function runTool(
  tool: string,
  args: readonly string[],
  captureStdout: boolean,
  input?: string,
  onOutput?: (chunk: Buffer, stream: 'out' | 'err') => void,
  stdoutTee?: StdoutTee,
): Promise<ToolRun> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint(); // not performance.now(): the global loads perf_hooks, ms of start-up
    const errTail = new Tail(64 * 1024);
    const outTail = new Tail(256 * 1024);
    let done = false;
    // the handlers go in before the tool exists: a signal that arrives once it runs is always forwarded
    const started: { child?: ReturnType<typeof spawn> } = {};
    const handlers = FORWARDED.map((sig) => {
      const h = () => {
        started.child?.kill(sig);
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
    const stdout = stdoutTee ? stdoutTee.fd : captureStdout ? 'pipe' : 'inherit';
    let child: ReturnType<typeof spawn>;
    try {
      child = started.child = spawn(tool, args, { stdio: [input === undefined ? 'inherit' : 'pipe', stdout, 'pipe'] });
    } finally {
      stdoutTee?.started();
    }
    if (input !== undefined) {
      child.stdin?.on('error', () => undefined); // the tool may exit without reading; reported by 'close'
      child.stdin?.end(input);
    }
    const finish = (run: Omit<ToolRun, 'durationMs' | 'stdout' | 'stderr'>) => {
      if (done) return;
      done = true;
      const durationMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
      const end = (teeError?: string) => {
        for (const [sig, h] of handlers) process.off(sig, h);
        resolve({ ...run, durationMs, stdout: outTail.text(), stderr: errTail.text(), ...(teeError === undefined ? {} : { teeError }) });
      };
      // the tool exited: its stdout is complete once the tee read every byte (its descendants may still hold it)
      if (stdoutTee) void stdoutTee.done.then((r) => end(r.error));
      else end();
    };
    // our stdout/stderr are touched only when we write to them (stdio()): creating process.stdout puts a pipe into
    // non-blocking mode (libuv), and an inherited stdout is the tool's own file description (its writes would fail
    // with EAGAIN)
    // written through first, then looked at: the tee adds no latency to the tool's output. A build log (onOutput)
    // can be gigabytes: when our stdout/stderr is slower than the tool (an async pipe on macOS), the tool's pipe is
    // paused until it drains, so memory stays bounded; once our side is gone (EPIPE) nothing waits for it.
    const gone = { out: false, err: false };
    const through = (src: NodeJS.ReadableStream | null, side: 'out' | 'err', b: Buffer) => {
      if (gone[side]) return;
      const dst = stdio(side);
      if (!dst.write(b) && onOutput && src) {
        src.pause();
        const resume = () => {
          dst.off('drain', resume);
          dst.off('error', resume);
          if (dst.destroyed || dst.errored) gone[side] = true;
          src.resume();
        };
        dst.on('drain', resume);
        dst.on('error', resume);
      }
    };
    child.stderr?.on('data', (b: Buffer) => {
      through(child.stderr, 'err', b);
      errTail.push(b);
      onOutput?.(b, 'err');
    });
    child.stdout?.on('data', (b: Buffer) => {
      through(child.stdout, 'out', b);
      if (onOutput) onOutput(b, 'out');
      else outTail.push(b);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      const exitCode = e.code === 'ENOENT' ? 127 : 126;
      stdio('err').write(`signwatch agent exec: ${tool}: ${e.code === 'ENOENT' ? 'command not found' : e.message}\n`);
      finish({ exitCode, signal: null, spawnError: e.code ?? 'spawn_failed' });
    });
    child.on('close', (code, signal) => {
      const exitCode = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1);
      finish({ exitCode, signal });
    });
  });
}

