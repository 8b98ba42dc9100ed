/** Shared test helpers for the agent: repo paths, fake macOS tools first on PATH, temp config, CLI runner. */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'signwatch');
export const FAKE_DIR = join(ROOT, 'services', 'demo', 'fake-macos');
export const FAKE_BIN = join(FAKE_DIR, 'bin');
export const FIXTURES = join(FAKE_DIR, 'fixtures');

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

export function fixtureNames(prefix: string): string[] {
  return readdirSync(FIXTURES).filter((f) => f.startsWith(prefix)).sort();
}

export interface Sandbox {
  dir: string;
  dataDir: string;
  config: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A temp dir with an agent config and an env whose PATH starts with the fake macOS tools (no CI variables). */
export function sandbox(extraConfig: Record<string, unknown> = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'sw-agent-'));
  const dataDir = join(dir, 'data');
  const config = join(dir, 'agent.json');
  writeFileSync(config, JSON.stringify({ region: 'SG', host: 'mini-sg-07', dataDir, ...extraConfig }));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(GITHUB_|CI_|BUILDKITE|CIRCLE|BITRISE|TRAVIS|BUILD_TAG|TEAMCITY|SIGNWATCH_|FAKE_)/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = `${FAKE_BIN}:${process.env.PATH ?? ''}`;
  env.SIGNWATCH_AGENT_CONFIG = config;
  return { dir, dataDir, config, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function cli(args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer): SpawnSyncReturns<Buffer> {
  return spawnSync(process.execPath, [BIN, ...args], { env, input: input ?? '', timeout: 20_000 });
}

export interface AsyncRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI with `fd3` (if given) on file descriptor 3 through a pipe. */
export function cliAsync(args: string[], env: NodeJS.ProcessEnv, opts: { fd3?: string; onSpawn?: (pid: number) => void } = {}): Promise<AsyncRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe', opts.fd3 !== undefined ? 'pipe' : 'ignore'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    if (opts.fd3 !== undefined) {
      const w = child.stdio[3] as NodeJS.WritableStream;
      w.on('error', () => undefined); // the CLI may exit before reading FD 3 (usage errors)
      w.end(opts.fd3);
    }
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export function spooled(dataDir: string): Record<string, unknown>[] {
  const q = join(dataDir, 'spool', 'q');
  let names: string[];
  try {
    names = readdirSync(q).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) =>
    readFileSync(join(q, n), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

export function ndjson(path: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
