/**
 * A real Prometheus + Alertmanager pair (Debian packages: /usr/bin/prometheus 2.42, /usr/bin/prometheus-alertmanager
 * 0.25) running the rules and routing generated from the policy, with the PagerDuty/webhook URLs pointed at a local
 * server — plus a tiny static exporter serving the processor's gauge names. Used by the end-to-end test, the
 * benchmark and the demo. Everything binds 127.0.0.1 on free ports, lives in a temp dir, and stop() kills the
 * processes it started (by pid) and removes the dir (idempotent).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Policy } from '../../services/engine/policy.js';
import { ruleSpecs } from '../../services/alerting/generate/rule-specs.js';
import { prometheusRules } from '../../services/alerting/generate/prometheus.js';
import { alertmanagerConfig, type AlertmanagerOptions } from '../../services/alerting/generate/alertmanager.js';

import { freePort } from './net.js';

export { freePort };

/** Serves gauges in the Prometheus text format; set(name, labels, value) / remove(). */
export interface StaticExporter {
  readonly url: string;
  set(name: string, labels: Record<string, string>, value: number): void;
  remove(name: string, labels: Record<string, string>): void;
  /** Number of scrapes served. */
  readonly scrapes: number;
  close(): Promise<void>;
}

export async function startStaticExporter(): Promise<StaticExporter> {
  const series = new Map<string, { name: string; labels: string; value: number }>();
  const lbl = (l: Record<string, string>) =>
    Object.keys(l)
      .sort()
      .map((k) => `${k}="${l[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
      .join(',');
  let scrapes = 0;
  const server: Server = createServer((req, res) => {
    scrapes++;
    const names = [...new Set([...series.values()].map((s) => s.name))];
    const body = names
      .map((n) => [`# TYPE ${n} gauge`, ...[...series.values()].filter((s) => s.name === n).map((s) => `${n}{${s.labels}} ${s.value}`)].join('\n'))
      .join('\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${body}\n`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (name, labels, value) => void series.set(`${name}{${lbl(labels)}}`, { name, labels: lbl(labels), value }),
    remove: (name, labels) => void series.delete(`${name}{${lbl(labels)}}`),
    get scrapes() {
      return scrapes;
    },
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface PromStackOptions {
  policy: Readonly<Policy>;
  /** host:port targets to scrape (the processor's /metrics or a static exporter). */
  targets: string[];
  /** Where PagerDuty events go (fake server) and the chat/ticket webhook URLs. */
  pagerdutyUrl: string;
  chatWebhookUrl: string;
  ticketWebhookUrl: string;
  routingKey: string;
  /** Prometheus scrape and evaluation interval (Prometheus default 1m). */
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Alertmanager timings (defaults: the generated config's, i.e. Alertmanager's own defaults). */
  alertmanager?: Partial<Pick<AlertmanagerOptions, 'groupWait' | 'groupInterval' | 'repeatInterval'>>;
}

export interface PromStack {
  readonly prometheusUrl: string;
  readonly alertmanagerUrl: string;
  readonly dir: string;
  stop(): Promise<void>;
}

async function waitHttp(url: string, timeoutMs: number, proc: ChildProcess, name: string, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}): ${log().slice(-2000)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready at ${url} within ${timeoutMs} ms: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(bin: string, args: string[]): { proc: ChildProcess; log: () => string } {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-20_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  return { proc, log: () => out };
}

async function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

export async function startPromStack(o: PromStackOptions): Promise<PromStack> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-promstack-'));
  const procs: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map(kill));
    procs.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const specs = ruleSpecs(o.policy);
    writeFileSync(join(dir, 'signwatch.rules.yml'), stringify(prometheusRules(specs), { lineWidth: 0 }));
    writeFileSync(join(dir, 'routing-key'), o.routingKey, { mode: 0o600 });
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      stringify(
        alertmanagerConfig(specs, {
          pagerdutyUrl: o.pagerdutyUrl,
          routingKeyFile: join(dir, 'routing-key'),
          chatWebhookUrl: o.chatWebhookUrl,
          ticketWebhookUrl: o.ticketWebhookUrl,
          ...o.alertmanager,
        }),
        { lineWidth: 0 },
      ),
    );
    const amPort = await freePort();
    const promPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: o.scrapeInterval ?? '1m', evaluation_interval: o.evaluationInterval ?? '1m' },
        rule_files: [join(dir, 'signwatch.rules.yml')],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [{ job_name: 'signwatch', static_configs: [{ targets: o.targets }] }],
      }),
    );
    const am = start('/usr/bin/prometheus-alertmanager', [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
    procs.push(am.proc);
    const prom = start('/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ]);
    procs.push(prom.proc);
    await waitHttp(`http://127.0.0.1:${amPort}/-/ready`, 20_000, am.proc, 'alertmanager', am.log);
    await waitHttp(`http://127.0.0.1:${promPort}/-/ready`, 30_000, prom.proc, 'prometheus', prom.log);
    return { prometheusUrl: `http://127.0.0.1:${promPort}`, alertmanagerUrl: `http://127.0.0.1:${amPort}`, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Prometheus + Alertmanager for an end-to-end test: the generated rules over `targets`, every receiver on the fake
 * PagerDuty server (`/chat`, `/ticket` beside its events API), evaluated and routed every second.
 */
export function startPromStackOnFakePagerDuty(o: { policy: PromStackOptions['policy']; targets: string[]; pd: { url: string; eventsUrl: string }; routingKey: string }): Promise<PromStack> {
  return startPromStack({
    policy: o.policy,
    targets: o.targets,
    pagerdutyUrl: o.pd.eventsUrl,
    chatWebhookUrl: `${o.pd.url}/chat`,
    ticketWebhookUrl: `${o.pd.url}/ticket`,
    routingKey: o.routingKey,
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    alertmanager: { groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' },
  });
}
