/**
 * Query HTTP API (fastify): the same questions as `signwatch query`, validated by the same schema (filters.ts),
 * so `?host=mini-hk-03&since=2h&count-by=hour,region` behaves exactly like the flags.
 *
 *   GET /v1/events?FILTERS[&limit=&order=]           → {"count":N,"events":[<stored event JSON>…]}
 *   GET /v1/events?around=ID[&before=&after=&FILTERS] → {"anchor":ID,"count":N,"events":[…]}
 *   GET /v1/counts?count-by=KEYS&FILTERS             → {"keys":[…],"rows":[{hour?,region?,…,count}]}
 *   GET /healthz                                      → {"ok":true} (no auth, no store access)
 * Bad input → 400 {"error":"SW_QUERY_BAD_REQUEST","message":"since: …"}; unknown anchor → 404; store down → 503.
 * At most `maxConcurrent` queries are answered at once (default 4); one more gets 503 SW_QUERY_BUSY with
 * Retry-After: 1. Event answers are streamed in chunks (never joined into one string of the whole answer).
 *
 * Binds 127.0.0.1 by default. A bearer token is REQUIRED when bound to any other address (the config is refused
 * without one) and enforced whenever one is configured. The token comes from the environment or a file, never
 * argv, and is never logged.
 *
 * Lifecycle: `start()` listens (resolves with the bound address); `stop()` closes the server, idempotent and safe
 * without start. The store is owned by the caller (open it before, close it after).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createHttpApp, sendError } from '../platform/http.js';
import type { Component } from '../platform/lifecycle.js';
import { parseConfig } from '../platform/validation.js';
import { parseQuery, type RawQuery } from './filters.js';
import { countJson } from './format.js';
import type { EventStore, StoredEvent } from './store.js';

export const QueryServerConfig = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Per-request cap on events returned (the schema's limit is also capped by MAX_LIMIT). */
    requestTimeoutMs: z.number().int().positive().default(30_000),
    /** Queries answered at once; one more is refused with 503 + Retry-After (a big answer holds its events in memory). */
    maxConcurrent: z.number().int().min(1).max(1024).default(4),
  })
  .superRefine((c, ctx) => {
    if (!isLoopback(c.host) && c.token === undefined) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: `is required when binding ${c.host} (not loopback): set SIGNWATCH_QUERY_TOKEN or --token-file` });
    }
  });
export type QueryServerConfig = Readonly<z.output<typeof QueryServerConfig>>;

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Defaults + strict schema + frozen; errors name the key. */
export function parseServerConfig(input: unknown): QueryServerConfig {
  return parseConfig(QueryServerConfig, input, 'query server config', 'SW_QUERY_SERVER_CONFIG');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function toRaw(q: unknown): RawQuery {
  const out = Object.create(null) as RawQuery;
  for (const [k, v] of Object.entries((q ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v;
  }
  return out;
}

/** The answer `head` + events joined by commas + `]}`, in chunks of about 64 KiB (backpressure: pulled on demand). */
export function* eventChunks(head: string, events: readonly StoredEvent[], chunkChars = 65_536): Generator<string> {
  let buf = head;
  for (let i = 0; i < events.length; i++) {
    buf += i === 0 ? events[i]!.raw : `,${events[i]!.raw}`;
    if (buf.length >= chunkChars) {
      yield buf;
      buf = '';
    }
  }
  yield `${buf}]}`;
}

export class QueryServer implements Component {
  private app: FastifyInstance | undefined;
  /** Queries being answered now (see maxConcurrent). */
  private inFlight = 0;
  private readonly tokenDigest: Buffer | undefined;

  constructor(
    private readonly store: EventStore,
    readonly config: QueryServerConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.tokenDigest = config.token === undefined ? undefined : digest(config.token);
  }

  /** Build the fastify instance (also usable with `inject` in tests, without listening). */
  build(): FastifyInstance {
    if (this.app) return this.app;
    const app = createHttpApp({ requestTimeoutMs: this.config.requestTimeoutMs, badRequestCode: 'SW_QUERY_BAD_REQUEST', internalCode: 'SW_QUERY_INTERNAL' });
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/healthz' || !this.tokenDigest) return;
      const h = req.headers.authorization;
      const m = typeof h === 'string' ? /^Bearer (.+)$/.exec(h) : null;
      if (!m || !timingSafeEqual(digest(m[1]!), this.tokenDigest)) {
        await sendError(reply.header('www-authenticate', 'Bearer'), 'SW_QUERY_UNAUTHORIZED', 'a valid bearer token is required');
      }
    });
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/healthz' || reply.sent) return;
      if (this.inFlight >= this.config.maxConcurrent) {
        await sendError(reply.header('retry-after', '1'), 'SW_QUERY_BUSY', `busy: ${this.inFlight} queries in progress (maxConcurrent ${this.config.maxConcurrent}); retry shortly`);
        return;
      }
      this.inFlight++;
      // 'close' fires once the answer is sent or the client went away: the slot is given back either way
      reply.raw.once('close', () => this.inFlight--);
    });
    app.get('/healthz', (_req, reply) => reply.send({ ok: true }));
    app.get('/v1/events', (req, reply) => this.events(req, reply));
    app.get('/v1/counts', (req, reply) => this.counts(req, reply));
    this.app = app;
    return app;
  }

  private parse(req: FastifyRequest, reply: FastifyReply) {
    const q = parseQuery(toRaw(req.query), this.now(), 'param');
    if (!q.ok) {
      void sendError(reply, 'SW_QUERY_BAD_REQUEST', q.message, { key: q.key });
      return undefined;
    }
    return q.request;
  }

  private async events(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const r = this.parse(req, reply);
    if (!r) return reply;
    if (r.countBy) return sendError(reply, 'SW_QUERY_BAD_REQUEST', 'count-by: use /v1/counts', { key: 'count-by' });
    let head: string;
    let events: StoredEvent[];
    if (r.around) {
      const a = await this.store.around(r.around.id, r.filters, r.around.before, r.around.after, r.limit);
      if (!a) return sendError(reply, 'SW_QUERY_NOT_FOUND', `around: no event with id ${r.around.id}`, { key: 'around' });
      head = `{"anchor":${JSON.stringify(a.anchor.id)},"count":${a.events.length},"events":[`;
      events = a.events;
    } else {
      events = await this.store.query(r.filters, { limit: r.limit, order: r.order });
      head = `{"count":${events.length},"events":[`;
    }
    return reply.type('application/json; charset=utf-8').send(Readable.from(eventChunks(head, events)));
  }

  private async counts(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const r = this.parse(req, reply);
    if (!r) return reply;
    if (!r.countBy) return sendError(reply, 'SW_QUERY_BAD_REQUEST', 'count-by: required (e.g. hour,region)', { key: 'count-by' });
    if (r.around) return sendError(reply, 'SW_QUERY_BAD_REQUEST', 'around: not available on /v1/counts', { key: 'around' });
    const rows = await this.store.countBy(r.filters, r.countBy);
    const keys = r.countBy;
    return reply.send({ keys, rows: rows.map((x) => countJson(keys, x)) });
  }

  private boundUrl = '';
  /** The URL actually bound (port 0 picks a free port); valid after start(). */
  get url(): string {
    return this.boundUrl;
  }

  /** Listen (the Component lifecycle: services/platform/lifecycle.ts). */
  async start(): Promise<void> {
    if (this.boundUrl) return;
    const app = this.build();
    this.boundUrl = await app.listen({ host: this.config.host, port: this.config.port });
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app) await app.close();
  }
}
