/**
 * HTTP face of the release gate (fastify, 127.0.0.1 by default):
 *   GET    /v1/release-gate?region=HK            → {region, frozen, reasons, since, override}
 *   GET    /v1/release-gate                      → {regions: [...]}
 *   POST   /v1/release-gate/override             {region, reason, by?, ttl?}  Authorization: Bearer <token>
 *   DELETE /v1/release-gate/override?region=HK   Authorization: Bearer <token>
 *   GET    /v1/release-gate/audit?limit=100     Authorization: Bearer <token> → {enabled, entries} newest first
 *   GET    /healthz
 * `by` is the token's holder from the token book; a request `by` naming someone else is refused (403). The server's
 * timeouts are platform/http.ts's: a client trickling its request is cut off after requestTimeoutMs.
 * Lifecycle: start() → listening; stop() idempotent.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createHttpApp, sendError, type HttpTimeouts } from '../platform/http.js';
import { bearerToken } from '../platform/tokens.js';
import { formatIssues } from '../platform/validation.js';
import { z } from 'zod';
import { Region, badRegion } from '../../schemas/events.js';
import { DurationMs } from '../platform/validation.js';
import { GateError, type ReleaseGate } from './release-gate.js';

export interface GateServer {
  readonly url: string;
  stop(): Promise<void>;
}

const OverrideBody = z.strictObject({
  region: Region,
  reason: z.string().min(1).max(500),
  by: z.string().min(1).max(100).optional(),
  ttl: DurationMs.optional(),
});

export function gateApp(gate: ReleaseGate, timeouts: HttpTimeouts = {}): FastifyInstance {
  const app = createHttpApp({ ...timeouts, badRequestCode: 'SW_GATE_BAD_INPUT', internalCode: 'SW_STORE' });
  app.get('/healthz', () => ({ ok: true }));
  app.get('/v1/release-gate', async (req, reply) => {
    const q = req.query as { region?: string };
    if (q.region === undefined) return { regions: gate.states() };
    const r = Region.safeParse(q.region);
    if (!r.success) return sendError(reply, 'SW_GATE_BAD_INPUT', `region: ${badRegion(q.region)}`);
    return gate.state(r.data);
  });
  const fail = (e: unknown, reply: FastifyReply) => {
    if (e instanceof GateError) return sendError(reply, e.code, e.message);
    throw e;
  };
  app.post('/v1/release-gate/override', async (req, reply) => {
    const b = OverrideBody.safeParse(req.body);
    if (!b.success) {
      return sendError(reply, 'SW_GATE_BAD_INPUT', formatIssues(b.error, '', 20, '; '));
    }
    try {
      return gate.override(b.data.region, bearerToken(req.headers.authorization), { by: b.data.by, reason: b.data.reason, ttlMs: b.data.ttl });
    } catch (e) {
      return fail(e, reply);
    }
  });
  app.get('/v1/release-gate/audit', async (req, reply) => {
    const raw = (req.query as { limit?: string }).limit;
    const limit = raw === undefined ? 100 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return sendError(reply, 'SW_GATE_BAD_INPUT', 'limit: must be an integer in [1, 1000]');
    try {
      return gate.auditTrail(bearerToken(req.headers.authorization), limit);
    } catch (e) {
      return fail(e, reply);
    }
  });
  app.delete('/v1/release-gate/override', async (req, reply) => {
    const q = req.query as { region?: string; by?: string };
    const r = Region.safeParse(q.region);
    if (!r.success) return sendError(reply, 'SW_GATE_BAD_INPUT', q.region === undefined ? `region: required (one of ${Region.options.join(', ')})` : `region: ${badRegion(q.region)}`);
    try {
      return gate.clearOverride(r.data, bearerToken(req.headers.authorization), q.by);
    } catch (e) {
      return fail(e, reply);
    }
  });
  return app;
}

export async function startGateServer(gate: ReleaseGate, opts: { host?: string; port?: number; timeouts?: HttpTimeouts } = {}): Promise<GateServer> {
  const app = gateApp(gate, opts.timeouts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 9480 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 9480);
  let stopped = false;
  return {
    url: `http://${host}:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
    },
  };
}
