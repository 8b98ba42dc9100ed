/**
 * The Gate page's routes. An override is made by the running release gate, `signwatch gate serve` (--gate-url):
 * the console forwards the logged-in person's own token as `Authorization: Bearer`, so the gate identifies the
 * person from its token book, writes its audit line (0600, fsync'd) BEFORE the override takes effect and refuses
 * it when it cannot (SW_GATE_AUDIT) — one audited code path (services/alerting/release-gate.ts), the one `gate
 * check` asks. The console never sends a `by`; the name in the audit is the gate's, from its book.
 *   GET  /api/gate           per-region state and reasons (from gate serve; without --gate-url, the console's own
 *                            fold of the alert topic, read-only) and each region's `gate check` text
 *   POST /api/gate/override  {"region", "reason", "ttl"}  → the region's new state
 *   POST /api/gate/clear     {"region"}                   → the region's new state
 *   GET  /api/gate/audit     the gate's audit trail, newest first (gate serve GET /v1/release-gate/audit)
 * The same-origin checks and the login of server.ts apply (a cross-site POST is refused before it gets here).
 * While a gate is configured its state is also polled (every pollMs, and after each change) so that the Fleet
 * tiles show its overrides. Lifecycle: the poller stops with the app (onClose).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sendError } from '../../platform/http.js';
import { DurationMs, formatIssues } from '../../platform/validation.js';
import { formatDuration } from '../../platform/duration.js';
import { escapeControl } from '../../platform/text.js';
import type { Logger } from '../../platform/logger.js';
import { Region } from '../../../schemas/events.js';
import type { GateState } from '../../alerting/release-gate.js';
import type { GateAuditEntry } from '../../alerting/gate-audit.js';
import { describe } from '../../alerting/gate-command.js';
import type { ConsoleState } from '../state.js';

export interface GateRoutesOptions {
  state: ConsoleState;
  /** Base URL of `signwatch gate serve` (http://127.0.0.1:9480); without it the page is read-only. */
  gateUrl?: string;
  userOf: (req: FastifyRequest) => string;
  /** The logged-in person's token (bearer or session), undefined without a token book. */
  tokenOf: (req: FastifyRequest) => string | undefined;
  logger?: Logger;
  pollMs?: number;
  timeoutMs?: number;
}

const OverrideBody = z.strictObject({ region: Region, reason: z.string().trim().min(1, 'a reason is required').max(500), ttl: DurationMs });
const ClearBody = z.strictObject({ region: Region });

class GateUnavailable extends Error {}

/** As the gate says it: whole hours as `24h`, else the platform's duration. */
const hours = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : formatDuration(ms));

interface GateAnswer {
  status: number;
  body: unknown;
}

export function registerGateRoutes(app: FastifyInstance, o: GateRoutesOptions): void {
  const base = o.gateUrl?.replace(/\/+$/, '');
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxTtlMs = o.state.gate.maxOverrideTtlMs;

  const ask = async (path: string, init: RequestInit = {}): Promise<GateAnswer> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new GateUnavailable(`console: the release gate at ${base} cannot be asked: ${(e as Error).message}`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new GateUnavailable(`console: the release gate at ${base} answered HTTP ${res.status} without JSON`);
    }
    return { status: res.status, body };
  };

  /** Pass the gate's answer on: its state, or its coded error with its status. */
  const relay = (reply: FastifyReply, a: GateAnswer) => {
    if (a.status >= 200 && a.status < 300) return reply.header('cache-control', 'no-store').send(a.body);
    const b = a.body as { code?: unknown; message?: unknown };
    const code = typeof b.code === 'string' && /^SW_[A-Z_]+$/.test(b.code) ? b.code : 'SW_CONSOLE_GATE';
    return reply.code(a.status).send({ code, message: escapeControl((typeof b.message === 'string' ? b.message : `release gate: HTTP ${a.status}`).slice(0, 500)) });
  };
  const unavailable = (reply: FastifyReply, e: unknown) => {
    if (e instanceof GateUnavailable) return sendError(reply, 'SW_CONSOLE_GATE', e.message);
    throw e;
  };

  /** Refresh the tiles' view of the gate's overrides (best effort). */
  const refresh = async (): Promise<GateState[] | undefined> => {
    if (!base) return undefined;
    const a = await ask('/v1/release-gate');
    const regions = (a.body as { regions?: GateState[] }).regions;
    if (a.status !== 200 || !Array.isArray(regions)) throw new GateUnavailable(`console: the release gate at ${base} answered HTTP ${a.status}`);
    o.state.setGateView(regions);
    return regions;
  };
  if (base) {
    let failing = false;
    const tick = () =>
      refresh().then(
        () => {
          if (failing) o.logger?.info({ gate: base }, 'console: the release gate answers again');
          failing = false;
        },
        (e: unknown) => {
          if (!failing) o.logger?.warn({ gate: base, err: (e as Error).message }, 'console: the release gate cannot be asked');
          failing = true;
        },
      );
    const timer = setInterval(() => void tick(), o.pollMs ?? 5000);
    timer.unref();
    void tick();
    app.addHook('onClose', (_app, done) => {
      clearInterval(timer);
      done();
    });
  }

  /** Who may override from here: a person with a token, and a gate to ask. */
  const canOverride = (req: FastifyRequest): { ok: boolean; why: string | null } =>
    !base
      ? { ok: false, why: 'the console has no release gate to ask (start it with --gate-url URL of signwatch gate serve)' }
      : o.tokenOf(req) === undefined
        ? { ok: false, why: 'the console runs without a token book: nobody is logged in, so nobody can override from here (use signwatch gate override)' }
        : { ok: true, why: null };

  app.get('/api/gate', async (req, reply) => {
    let regions: GateState[];
    let source: 'gate' | 'console';
    if (base) {
      try {
        regions = (await refresh())!;
      } catch (e) {
        return unavailable(reply, e);
      }
      source = 'gate';
    } else {
      regions = o.state.gate.states();
      source = 'console';
    }
    const can = canOverride(req);
    return reply.header('cache-control', 'no-store').send({
      user: o.userOf(req),
      source,
      gateUrl: base ?? null,
      canOverride: can.ok,
      cannotOverride: can.why,
      maxOverrideTtlMs: maxTtlMs,
      maxOverrideTtl: hours(maxTtlMs),
      regions: regions.map((s) => ({ ...s, check: describe(s, false) })),
    });
  });

  const mustOverride = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
    const can = canOverride(req);
    if (!can.ok) {
      void sendError(reply, 'SW_CONSOLE_FORBIDDEN', `console: ${can.why}`);
      return undefined;
    }
    return o.tokenOf(req);
  };

  app.post('/api/gate/override', async (req, reply) => {
    const b = OverrideBody.safeParse(req.body);
    if (!b.success) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', `console: override: ${formatIssues(b.error, '', 5, '; ')}`);
    if (b.data.ttl <= 0) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', 'console: override: ttl: must be longer than 0');
    if (b.data.ttl > maxTtlMs) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', `console: override: ttl: ${hours(b.data.ttl)} is longer than the maximum ${hours(maxTtlMs)} (policy gate.maxOverrideTtl)`);
    const token = mustOverride(req, reply);
    if (token === undefined) return reply;
    try {
      // no `by`: the gate names the holder of the token from its own book
      const a = await ask('/v1/release-gate/override', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ region: b.data.region, reason: b.data.reason, ttl: b.data.ttl }),
      });
      o.logger?.info({ user: o.userOf(req), region: b.data.region, status: a.status }, 'console: override forwarded to the release gate');
      if (a.status === 200) await refresh().catch(() => undefined);
      return relay(reply, a);
    } catch (e) {
      return unavailable(reply, e);
    }
  });

  app.post('/api/gate/clear', async (req, reply) => {
    const b = ClearBody.safeParse(req.body);
    if (!b.success) return sendError(reply, 'SW_CONSOLE_BAD_REQUEST', `console: clear: ${formatIssues(b.error, '', 5, '; ')}`);
    const token = mustOverride(req, reply);
    if (token === undefined) return reply;
    try {
      const a = await ask(`/v1/release-gate/override?region=${encodeURIComponent(b.data.region)}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      o.logger?.info({ user: o.userOf(req), region: b.data.region, status: a.status }, 'console: override removal forwarded to the release gate');
      if (a.status === 200) await refresh().catch(() => undefined);
      return relay(reply, a);
    } catch (e) {
      return unavailable(reply, e);
    }
  });

  app.get('/api/gate/audit', async (req, reply) => {
    const token = o.tokenOf(req);
    if (!base || token === undefined) return reply.header('cache-control', 'no-store').send({ enabled: false, entries: [] as GateAuditEntry[], why: canOverride(req).why });
    try {
      return relay(reply, await ask('/v1/release-gate/audit?limit=100', { headers: { authorization: `Bearer ${token}` } }));
    } catch (e) {
      return unavailable(reply, e);
    }
  });
}
