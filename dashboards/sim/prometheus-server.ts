/**
 * A real Prometheus (Debian package `prometheus`, 2.42) for tests and pictures: own temp data dir, own free port
 * on 127.0.0.1 (never 9090, which a system service might hold), own config scraping the given targets.
 *
 * Lifecycle: `start()` spawns it and resolves once /-/ready answers (bounded wait); `stop()` sends SIGTERM,
 * then SIGKILL after 5 s, removes the temp dir unless it was given; idempotent, works without start().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PrometheusOptions {
  /** host:port targets scraped by job `signwatch`. */
  targets?: string[];
  scrapeInterval?: string;
  /** Existing TSDB dir (e.g. backfilled blocks); default: a fresh temp dir. */
  dataDir?: string;
  binary?: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class PrometheusServer {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'sw-dash-prom-'));
  private stderr = '';
  port = 0;

  constructor(readonly opts: PrometheusOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    this.port = await freePort();
    const interval = this.opts.scrapeInterval ?? '1s';
    const targets = this.opts.targets ?? [];
    const config = [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      '  - job_name: signwatch',
      `    scrape_interval: ${interval}`,
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n');
    const cfg = join(this.dir, 'prometheus.yml');
    writeFileSync(cfg, config);
    const args = [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${this.opts.dataDir ?? join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--log.level=warn',
      '--storage.tsdb.retention.time=30d',
    ];
    const child = spawn(this.opts.binary ?? 'prometheus', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-4000);
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot run prometheus: ${e.message} (install the Debian package 'prometheus')`)));
      child.once('spawn', () => resolve());
    });
    await spawned;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${this.stderr}`);
      try {
        const r = await fetch(`${this.url}/-/ready`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready after ${timeoutMs} ms: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async api(path: string, params: Record<string, string>): Promise<unknown> {
    const r = await fetch(`${this.url}${path}`, { method: 'POST', body: new URLSearchParams(params), signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as { status: string; data?: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? r.status}`);
    return body.data;
  }

  async query(expr: string, time?: number): Promise<PromSeries[]> {
    const p: Record<string, string> = { query: expr };
    if (time !== undefined) p.time = String(time / 1000);
    const d = (await this.api('/api/v1/query', p)) as { resultType: string; result: PromSeries[] };
    return d.resultType === 'vector' || d.resultType === 'matrix' ? d.result : [];
  }

  async queryRange(expr: string, startMs: number, endMs: number, stepS: number): Promise<PromSeries[]> {
    const d = (await this.api('/api/v1/query_range', { query: expr, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepS) })) as { result: PromSeries[] };
    return d.result;
  }

  /** label_values(selector, label) as Grafana's variable query runs it. */
  async labelValues(label: string, selector: string): Promise<string[]> {
    const r = await fetch(`${this.url}/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': selector }).toString()}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as { status: string; data: string[]; error?: string };
    if (body.status !== 'success') throw new Error(`label values ${label} ${selector}: ${body.error ?? r.status}`);
    return body.data;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
