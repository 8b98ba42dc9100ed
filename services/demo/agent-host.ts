/**
 * One simulated Mac signing host of the demo that runs the REAL agent code path of `signwatch agent exec`:
 * the wrapped tool is the fake `codesign` of services/demo/fake-macos (found on PATH, replaying a recorded real
 * capture such as errSecInternalComponent on stderr with exit status 1), and the agent's own functions turn the
 * run into an event (toolKind → eventForRun: argument parsing, stderr classification, event building), append it
 * to the host's durable spool (emitEvents) and ship the spool to Kafka (Shipper + KafkaTarget, acks=all).
 *
 * The one difference from `signwatch agent exec`: the event time is the demo's compressed simulated clock
 * instead of Date.now() (eventForRun takes `now`), so the keychain lock plays out in seconds of wall time.
 * The tool's stderr is captured (bounded) instead of passed through, so it does not garble the live view.
 *
 * Lifecycle: construct (writes the host's state.json like a scan would) → codesign()… → ship() → close()
 * (idempotent; closes the Kafka sink).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseConfig, type AgentConfig } from '../agent/config.js';
import { emitEvents, spoolDir } from '../agent/spool/emit.js';
import type { WireEvent } from '../agent/events.js';
import { eventForRun } from '../agent/record.js';
import { toolKind, type ToolRun } from '../agent/tool-run.js';
import { Shipper } from '../agent/spool/shipper.js';
import type { ShipTarget } from '../agent/spool/ship-targets.js';
import { Spool } from '../agent/spool/spool.js';
import { readState, writeState } from '../agent/state.js';
import type { Region } from '../../schemas/events.js';

export const DEMO_KEYCHAIN = '/Users/ci/Library/Keychains/signing.keychain-db';
const MAX_CAPTURE = 64 * 1024;

export interface AgentHostOptions {
  host: string;
  region: Region;
  /** The host's agent data directory (state.json, spool/). */
  dataDir: string;
  /** services/demo/fake-macos/bin: put first on PATH so that `codesign` is the fake one. */
  fakeBin: string;
  /** Kafka sink shared by the demo's hosts (the daemon's ship loop target). */
  sink: ShipTarget;
  /** SHA-1 of the signing identity (from the host's scan). */
  identity: string;
  /** Extra environment for the spawned tools (the demo's run marker). */
  env: NodeJS.ProcessEnv;
}

export interface CodesignCall {
  /** Simulated event time of the call. */
  at: number;
  /** Fixture replayed by the fake codesign (a recorded failure), or undefined for a successful signature. */
  fixture: string | undefined;
  /** CI job id (SIGNWATCH_CORRELATION_ID). */
  correlationId: string;
  app: string;
}

/** Run a tool with argv (no shell), stdin closed, stdout/stderr captured (bounded), like the wrapper's runTool. */
function runCaptured(tool: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let stderr = '';
    let stdout = '';
    const child = spawn(tool, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      if (stdout.length < MAX_CAPTURE) stdout += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < MAX_CAPTURE) stderr += b.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ exitCode: e.code === 'ENOENT' ? 127 : 126, signal: null, durationMs: Math.round(performance.now() - t0), stdout, stderr, spawnError: e.code ?? 'spawn_failed' });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? 1, signal, durationMs: Math.round(performance.now() - t0), stdout, stderr });
    });
  });
}

export class DemoAgentHost {
  readonly cfg: AgentConfig;
  private readonly shipper: Shipper;
  readonly stats = { calls: 0, failures: 0, shipped: 0 };

  constructor(private readonly o: AgentHostOptions) {
    this.cfg = parseConfig({ region: o.region, host: o.host, pool: 'signing', dataDir: o.dataDir, keychain: DEMO_KEYCHAIN, secretVersion: 'v7' });
    // what `signwatch agent scan` leaves for the wrapper: search list, identities, partition IDs per keychain
    writeState(o.dataDir, {
      searchList: [DEMO_KEYCHAIN, '/Library/Keychains/System.keychain'],
      identities: [{ sha1: o.identity, name: 'Apple Distribution: Example Corp (ABCDE12345)' }],
      partitionIds: { [DEMO_KEYCHAIN]: ['apple-tool:', 'apple:', 'codesign:'] },
    });
    this.shipper = new Shipper(new Spool({ dir: spoolDir(this.cfg), maxEvents: this.cfg.spoolMaxEvents }), [o.sink]);
  }

  get host(): string {
    return this.o.host;
  }

  /** `codesign --force --sign <identity> --keychain <kc> --timestamp <app>` through the fake tool; the event goes to the spool. */
  async codesign(call: CodesignCall): Promise<WireEvent | undefined> {
    const args = ['--force', '--sign', this.o.identity, '--keychain', DEMO_KEYCHAIN, '--timestamp', '--options', 'runtime', `build/${call.app}.app`];
    const env: NodeJS.ProcessEnv = { ...this.o.env, PATH: `${this.o.fakeBin}:${process.env.PATH ?? '/usr/bin:/bin'}`, SIGNWATCH_CORRELATION_ID: call.correlationId };
    if (call.fixture) env.FAKE_CODESIGN = call.fixture;
    else delete env.FAKE_CODESIGN;
    const run = await runCaptured('codesign', args, env);
    const ev = eventForRun(this.cfg, toolKind('codesign', args), args, run, readState(this.o.dataDir), call.at, env);
    if (!ev) return undefined;
    const r = emitEvents(this.cfg, [ev]);
    if (r.errors.length) throw new Error(`agent spool of ${this.o.host}: ${r.errors.join('; ')}`);
    this.stats.calls++;
    if (ev.outcome === 'fail') this.stats.failures++;
    return ev;
  }

  /** Ship the spool to Kafka (acks=all), deleting events only once acknowledged. True when the spool is empty. */
  async ship(deadline: number): Promise<boolean> {
    const before = this.shipper.stats.shipped;
    const ok = await this.shipper.drain(deadline);
    this.stats.shipped += this.shipper.stats.shipped - before;
    return ok;
  }

  spoolPath(): string {
    return join(this.o.dataDir, 'spool');
  }
}
