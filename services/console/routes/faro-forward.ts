/**
 * Faro forwarding: with `signwatch console --faro-forward URL`, every payload /collect accepted (202) is also sent on
 * to a Grafana Alloy `faro.receiver` (or any Faro collector) at URL, after the page has its answer: an onResponse
 * hook puts it in a bounded queue and one sender drains it, so a slow or dead receiver never delays the page.
 *   - URL must be https, or http to a loopback host (127.0.0.0/8, ::1, localhost): the payload carries the session.
 *   - Each POST has a timeout (default 5 s); no retry (Faro data is telemetry: a lost batch is counted, not replayed).
 *   - The queue holds at most `maxQueue` payloads (default 100); one more is dropped and counted.
 *   - Optional API key (Alloy's `api_key`) from a file, sent as X-API-Key; never in argv or logs.
 * Metrics (/metrics):
 *   signwatch_console_faro_forwarded_total                  payloads the receiver accepted (2xx)
 *   signwatch_console_faro_forward_failed_total{reason}     status (non-2xx), timeout, network
 *   signwatch_console_faro_forward_dropped_total{reason}    queue_full, stopped
 *   signwatch_console_faro_forward_queue                     payloads waiting
 * Lifecycle: construct (validates the URL), enqueue(); stop() aborts the POST in flight and drops the rest (counted),
 * idempotent.
 */
import type { FastifyInstance } from 'fastify';
import type { Counter } from '@opentelemetry/api';
import { UsageError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Telemetry } from '../../platform/telemetry.js';

export interface FaroForwardOptions {
  url: string;
  timeoutMs?: number;
  maxQueue?: number;
  apiKey?: string;
}

const LOOPBACK = (h: string) => h === 'localhost' || h === '[::1]' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);

/** The forward URL, checked: https anywhere, http only to loopback; no credentials in it. */
export function parseForwardUrl(text: string, flag = '--faro-forward'): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`signwatch console: ${flag}: "${text}" is not a URL (e.g. https://alloy.example:12347/collect)`);
  }
  if (u.username || u.password) throw new UsageError(`signwatch console: ${flag}: no credentials in the URL (use --faro-forward-key-file)`);
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && LOOPBACK(u.hostname)) return u;
  throw new UsageError(`signwatch console: ${flag}: ${u.protocol}//${u.host} must be https (plain http only to a loopback address)`);
}

export class FaroForwarder {
  readonly url: URL;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly queue: string[] = [];
  private sending = false;
  private stopped = false;
  private inFlight: AbortController | undefined;
  private idle: Promise<void> = Promise.resolve();
  private readonly forwarded: Counter;
  private readonly failed: Counter;
  private readonly dropped: Counter;

  constructor(
    o: FaroForwardOptions,
    telemetry: Telemetry,
    private readonly logger?: Logger,
    private readonly apiKey = o.apiKey,
  ) {
    this.url = parseForwardUrl(o.url);
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.maxQueue = o.maxQueue ?? 100;
    const m = telemetry.meter;
    this.forwarded = m.createCounter('signwatch_console_faro_forwarded', { description: 'Faro payloads forwarded to the configured receiver (2xx)' });
    this.failed = m.createCounter('signwatch_console_faro_forward_failed', { description: 'Faro payloads the configured receiver did not take, by reason' });
    this.dropped = m.createCounter('signwatch_console_faro_forward_dropped', { description: 'Faro payloads not forwarded (queue full, console stopping)' });
    telemetry.exactGauge('signwatch_console_faro_forward_queue', 'Faro payloads waiting to be forwarded', () => [{ labels: {}, value: this.queue.length }]);
  }

  /** Queue one accepted payload (never waits). */
  enqueue(body: unknown): void {
    if (this.stopped) {
      this.dropped.add(1, { reason: 'stopped' });
      return;
    }
    if (this.queue.length >= this.maxQueue) {
      this.dropped.add(1, { reason: 'queue_full' });
      return;
    }
    this.queue.push(JSON.stringify(body));
    if (!this.sending) this.idle = this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      for (let body = this.queue.shift(); body !== undefined && !this.stopped; body = this.queue.shift()) await this.send(body);
    } finally {
      this.sending = false;
    }
  }

  private async send(body: string): Promise<void> {
    const ac = new AbortController();
    this.inFlight = ac;
    const timer = setTimeout(() => ac.abort(new Error('timeout')), this.timeoutMs);
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.apiKey !== undefined) headers['x-api-key'] = this.apiKey;
      const res = await fetch(this.url, { method: 'POST', headers, body, signal: ac.signal, redirect: 'error' });
      await res.body?.cancel().catch(() => undefined);
      if (res.ok) this.forwarded.add(1);
      else {
        this.failed.add(1, { reason: 'status' });
        this.logger?.warn({ status: res.status, receiver: this.url.origin }, 'console: Faro forward refused');
      }
    } catch (e) {
      const reason = ac.signal.aborted ? (this.stopped ? 'stopped' : 'timeout') : 'network';
      if (reason === 'stopped') this.dropped.add(1, { reason });
      else this.failed.add(1, { reason });
      if (reason !== 'stopped') this.logger?.warn({ reason, receiver: this.url.origin, err: (e as Error).message }, 'console: Faro forward failed');
    } finally {
      clearTimeout(timer);
      this.inFlight = undefined;
    }
  }

  get queued(): number {
    return this.queue.length;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.inFlight?.abort(new Error('stopped'));
    if (this.queue.length > 0) this.dropped.add(this.queue.length, { reason: 'stopped' });
    this.queue.length = 0;
    await this.idle;
  }
}

const COLLECT_ROUTES = new Set(['/collect', '/collect/:appKey']);

/** After /collect answered 202, hand the payload to a forwarder (made here from `o`); closing the app stops it. */
export function registerFaroForward(app: FastifyInstance, o: FaroForwardOptions | undefined, telemetry: Telemetry, logger?: Logger): void {
  if (!o) return;
  const forwarder = new FaroForwarder(o, telemetry, logger);
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 202 && req.method === 'POST' && COLLECT_ROUTES.has(req.routeOptions.url ?? '')) forwarder.enqueue(req.body);
  });
  app.addHook('onClose', async () => forwarder.stop());
}
