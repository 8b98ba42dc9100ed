/**
 * A local server implementing the PagerDuty Events API v2 contract (POST /v2/enqueue), for tests, the benchmark
 * and `signwatch demo`. It validates bodies like PagerDuty does (202 / 400 with errors), can inject 429 with
 * Retry-After, 5xx and timeouts, records every request, and keeps PagerDuty's alert model: a trigger opens an
 * alert for its dedup_key unless one is open; resolve closes it; a later trigger opens a new alert (incident).
 * Any other POST path (e.g. /chat, /ticket) is recorded as a generic webhook and answered 200.
 *
 * Lifecycle: startFakePagerDuty() → use → close() (idempotent).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyTimeouts, serverTimeouts } from '../platform/http-timeouts.js';
import { randomUUID } from 'node:crypto';

export interface RecordedRequest {
  path: string;
  at: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  raw: string;
  /** Status answered (0 for an injected timeout: the connection was left hanging then destroyed). */
  status: number;
}

export interface FakeIncident {
  dedupKey: string;
  routingKey: string;
  openedAt: number;
  resolvedAt?: number;
  triggers: number;
  severity: string;
  summary: string;
}

export type Injection =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'timeout'; hangMs: number };

export interface FakePagerDuty {
  readonly url: string;
  /** `${url}/v2/enqueue` */
  readonly eventsUrl: string;
  readonly requests: RecordedRequest[];
  /** Accepted (202) Events API requests, in order. */
  readonly events: { at: number; body: Record<string, unknown> }[];
  readonly incidents: FakeIncident[];
  /** Requests to other paths (chat/ticket webhooks). */
  webhooks(path?: string): RecordedRequest[];
  /** Answer the next `count` Events API requests with this instead of processing them. */
  inject(injection: Injection, count?: number): void;
  /** Resolves when `predicate` holds over the accepted events (polls every 5 ms), or rejects after timeoutMs. */
  waitFor(predicate: (f: FakePagerDuty) => boolean, timeoutMs: number): Promise<void>;
  /** Called synchronously for each accepted event (benchmarks measure arrival time here). */
  onEvent?: (body: Record<string, unknown>, at: number) => void;
  close(): Promise<void>;
}

const ACTIONS = new Set(['trigger', 'acknowledge', 'resolve']);
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

/** The validation rules of the Events API v2 (developer.pagerduty.com, events-v2 OpenAPI). */
export function validateEvent(b: unknown): string[] {
  const errors: string[] = [];
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return ['Event object is invalid'];
  const e = b as Record<string, unknown>;
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) errors.push("'routing_key' is invalid (32 characters)");
  if (typeof e.event_action !== 'string' || !ACTIONS.has(e.event_action)) errors.push("'event_action' is invalid");
  if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255 || e.dedup_key.length === 0)) {
    errors.push("'dedup_key' is invalid (1..255 characters)");
  }
  if ((e.event_action === 'acknowledge' || e.event_action === 'resolve') && typeof e.dedup_key !== 'string') {
    errors.push("'dedup_key' is required for acknowledge and resolve");
  }
  if (e.event_action === 'trigger') {
    const p = e.payload as Record<string, unknown> | undefined;
    if (typeof p !== 'object' || p === null) errors.push("'payload' is missing");
    else {
      if (typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) errors.push("'payload.summary' is invalid");
      if (typeof p.source !== 'string' || p.source.length === 0) errors.push("'payload.source' is missing");
      if (typeof p.severity !== 'string' || !SEVERITIES.has(p.severity)) errors.push("'payload.severity' is invalid");
      if (p.timestamp !== undefined && (typeof p.timestamp !== 'string' || Number.isNaN(Date.parse(p.timestamp)))) {
        errors.push("'payload.timestamp' is invalid");
      }
      if (p.custom_details !== undefined && (typeof p.custom_details !== 'object' || p.custom_details === null)) {
        errors.push("'payload.custom_details' is invalid");
      }
    }
  }
  if (e.links !== undefined) {
    if (!Array.isArray(e.links) || e.links.some((l) => typeof (l as { href?: unknown })?.href !== 'string')) errors.push("'links' is invalid");
  }
  return errors;
}

export async function startFakePagerDuty(opts: { port?: number; host?: string } = {}): Promise<FakePagerDuty> {
  const requests: RecordedRequest[] = [];
  const events: { at: number; body: Record<string, unknown> }[] = [];
  const incidents: FakeIncident[] = [];
  const injections: Injection[] = [];
  const hanging = new Set<ServerResponse>();

  const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const at = Date.now();
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const rec: RecordedRequest = { path, at, headers: req.headers, body, raw, status: 0 };
    requests.push(rec);
    if (req.method !== 'POST') {
      rec.status = 405;
      return reply(res, 405, { status: 'error', message: 'Method not allowed' });
    }
    if (path !== '/v2/enqueue') {
      rec.status = 200;
      return reply(res, 200, { ok: true });
    }
    const inj = injections.shift();
    if (inj?.kind === 'timeout') {
      hanging.add(res);
      setTimeout(() => {
        hanging.delete(res);
        res.destroy();
      }, inj.hangMs).unref();
      return;
    }
    if (inj?.kind === 'status') {
      rec.status = inj.status;
      return reply(res, inj.status, inj.body ?? { status: 'error', message: `injected ${inj.status}` }, inj.retryAfter !== undefined ? { 'retry-after': inj.retryAfter } : {});
    }
    if (body === undefined) {
      rec.status = 400;
      return reply(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid JSON'] });
    }
    const errors = validateEvent(body);
    if (errors.length > 0) {
      rec.status = 400;
      return reply(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors });
    }
    const e = body as Record<string, unknown> & { payload?: { severity: string; summary: string } };
    const dedupKey = (e.dedup_key as string | undefined) ?? randomUUID().replace(/-/g, '');
    const routingKey = e.routing_key as string;
    const open = incidents.find((i) => i.dedupKey === dedupKey && i.routingKey === routingKey && i.resolvedAt === undefined);
    if (e.event_action === 'trigger') {
      if (open) open.triggers++;
      else incidents.push({ dedupKey, routingKey, openedAt: at, triggers: 1, severity: e.payload!.severity, summary: e.payload!.summary });
    } else if (e.event_action === 'resolve' && open) {
      open.resolvedAt = at;
    }
    events.push({ at, body: e });
    rec.status = 202;
    fake.onEvent?.(e, at);
    return reply(res, 202, { status: 'success', message: 'Event processed', dedup_key: dedupKey });
  };

  const server = createServer(serverTimeouts(), (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 512 * 1024 + 1) chunks.push(c);
    });
    req.on('end', () => {
      if (size > 512 * 1024) {
        requests.push({ path: req.url ?? '/', at: Date.now(), headers: req.headers, body: undefined, raw: '', status: 413 });
        return reply(res, 413, { status: 'error', message: 'Request too large' });
      }
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  applyTimeouts(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address}:${addr.port}`;
  let closed = false;

  const fake: FakePagerDuty = {
    url,
    eventsUrl: `${url}/v2/enqueue`,
    requests,
    events,
    incidents,
    webhooks: (path) => requests.filter((r) => r.path !== '/v2/enqueue' && (path === undefined || r.path === path)),
    inject(injection, count = 1) {
      for (let i = 0; i < count; i++) injections.push(injection);
    },
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(fake)) {
        if (Date.now() > deadline) throw new Error(`fake PagerDuty: condition not met within ${timeoutMs} ms (${events.length} events, ${requests.length} requests)`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return fake;
}
