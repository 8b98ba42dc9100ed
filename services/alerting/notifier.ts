/**
 * The notifier: transitions in, PagerDuty pages/resolves and certificate tickets out, through a durable outbox.
 *
 *   accept(t)  — synchronous; when it returns the notification is on disk (SQLite, fsync). A transition seen
 *                before (same dedupKey + state + at) is ignored, so re-reading the alert topic sends nothing twice.
 *   delivery   — a background loop sends due rows, at most `concurrency` keys at a time, strictly in order per
 *                key; network errors, timeouts and 5xx are retried with exponential backoff + jitter, 429 waits
 *                for Retry-After, 400/4xx are never retried (logged with the receiver's body) and marked dead.
 *                A row that keeps failing for `retry.maxAgeMs` is marked dead and logged.
 * Guarantee: at least once per transition and channel, across restarts (a crash between the receiver's 202 and
 * the commit of "delivered" resends once; PagerDuty dedups by dedup_key, the ticket webhook by its key).
 *
 * Lifecycle: createNotifier() → start() → accept()… → stop() (idempotent; waits for in-flight sends, closes the
 * outbox; works without start). Pending rows left by a previous process are delivered after start().
 */
import { z } from 'zod';
import { ConfigError } from '../platform/errors.js';
import type { Component } from '../platform/lifecycle.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { parseConfig } from '../platform/validation.js';
import { metrics, SpanStatusCode, type Counter, type Meter } from '@opentelemetry/api';
import { context, contextOf, SpanKind, trace, tracer } from '../platform/telemetry.js';
import type { Policy, Severity } from '../engine/policy.js';
import type { Transition } from '../engine/types.js';
import { METRICS } from '../platform/metric-names.js';
import { Outbox, type OutboxRow } from './outbox.js';
import { backoffDelay } from '../platform/backoff.js';
import { NotifyError } from './errors.js';
import { alertSeverity } from './links.js';
import { pagerDutyEvent } from './pagerduty-event.js';
import { ticketKey, ticketPayload } from './ticket-payload.js';
import type { Channel, ChannelName } from './channels.js';

const ChannelList = z.array(z.enum(['pagerduty', 'ticket']));

export const NotifierConfig = z.strictObject({
  /** SQLite file of the outbox (created with its directory). */
  outboxPath: z.string().min(1),
  /** Parallel deliveries (different keys); one key is always sequential. */
  concurrency: z.number().int().min(1).max(64).default(4),
  retry: z
    .strictObject({
      baseMs: z.number().int().positive().default(1000),
      maxMs: z.number().int().positive().default(300_000),
      /** Give up (dead, logged) when a row is still failing this long after it was accepted. */
      maxAgeMs: z.number().int().positive().default(86_400_000),
    })
    .prefault({}),
  /**
   * Finished rows and remembered transition ids older than this are pruned at start(). Keep it longer than the
   * alert topic's retention, or a full re-read of the topic could page again for very old transitions.
   */
  retentionMs: z.number().int().positive().default(14 * 86_400_000),
  /** Channels per policy severity. */
  routes: z
    .strictObject({
      critical: ChannelList.default(['pagerduty']),
      warning: ChannelList.default(['pagerduty']),
      ticket: ChannelList.default(['ticket']),
    })
    .prefault({}),
});
export type NotifierConfig = z.infer<typeof NotifierConfig>;

export function parseNotifierConfig(input: unknown, source = 'notifier'): Readonly<NotifierConfig> {
  return parseConfig(NotifierConfig, input, source, 'SW_NOTIFY_CONFIG');
}

export interface NotifierStats {
  accepted: number;
  duplicate: number;
  delivered: number;
  retried: number;
  dead: number;
  ticketsSkipped: number;
}

/** Lifecycle (services/platform/lifecycle.ts): start() resumes what the outbox holds; stop() is idempotent. */
export interface Notifier extends Component {
  /** Durable on return. Returns false when the transition was accepted before (nothing enqueued). */
  accept(t: Transition): boolean;
  /** Resolves true once nothing is pending (or false after timeoutMs). */
  drain(timeoutMs: number): Promise<boolean>;
  readonly stats: Readonly<NotifierStats>;
  readonly outbox: Outbox;
}

export interface NotifierDeps {
  policy: Readonly<Policy>;
  channels: Partial<Record<ChannelName, Channel>>;
  logger?: Logger;
  /** Where signwatch_notifications_total / signwatch_notification_retries_total go (default: the global meter). */
  meter?: Meter;
  now?: () => number;
  random?: () => number;
}

export const transitionId = (t: Transition): string => `${t.dedupKey}|${t.state}|${t.at}`;

export const alertingLogger = (): Logger => createLogger({ name: 'signwatch-alerting' });

export function createNotifier(config: unknown, deps: NotifierDeps): Notifier {
  const cfg = parseNotifierConfig(config);
  return new OutboxNotifier(cfg, deps);
}

class OutboxNotifier implements Notifier {
  readonly outbox: Outbox;
  readonly stats: NotifierStats = { accepted: 0, duplicate: 0, delivered: 0, retried: 0, dead: 0, ticketsSkipped: 0 };
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly waiters = new Set<(ok: boolean) => void>();
  private readonly sent: Counter;
  private readonly retries: Counter;

  constructor(
    private readonly cfg: Readonly<NotifierConfig>,
    private readonly deps: NotifierDeps,
  ) {
    this.outbox = new Outbox(cfg.outboxPath);
    const meter = deps.meter ?? metrics.getMeter('signwatch');
    this.sent = meter.createCounter(METRICS.notifications);
    this.retries = meter.createCounter(METRICS.notificationRetries);
    this.log = deps.logger ?? alertingLogger();
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    for (const sev of Object.keys(cfg.routes) as Severity[]) {
      for (const ch of cfg.routes[sev]) {
        if (!deps.channels[ch]) throw new ConfigError(`notifier: routes.${sev}: channel '${ch}' is not configured`, { code: 'SW_NOTIFY_CONFIG' });
      }
    }
  }

  start(): Promise<void> {
    if (this.running || this.stopped) return Promise.resolve();
    this.running = true;
    this.outbox.prune(this.now() - this.cfg.retentionMs);
    const c = this.outbox.counts();
    if (c.pending > 0) this.log.info({ pending: c.pending }, 'outbox: delivering notifications left pending by a previous run');
    this.kick();
    return Promise.resolve();
  }

  accept(t: Transition): boolean {
    if (this.stopped) throw new NotifyError('SW_NOTIFY_CONFIG', 'notifier is stopped');
    const tid = transitionId(t);
    const severity = alertSeverity(this.deps.policy, t);
    const channels = this.cfg.routes[severity];
    const fresh = this.outbox.acceptOnce(tid, this.now(), (tx) => {
      for (const ch of channels) {
        if (ch === 'pagerduty') {
          tx.enqueue({ id: `pagerduty|${tid}`, channel: ch, key: `pagerduty|${t.dedupKey}`, payload: pagerDutyEvent(t, this.deps.policy) });
        } else {
          // one ticket per certificate: open when the first source fires, resolve when the last one resolves
          const key = ticketKey(t);
          if (t.state === 'firing') {
            tx.addTicketSource(key, t.dedupKey);
            if (tx.ticketOpen(key)) {
              this.stats.ticketsSkipped++;
              continue;
            }
            tx.setTicketOpen(key, true);
            tx.enqueue({ id: `ticket|${tid}`, channel: ch, key: `ticket|${key}`, payload: ticketPayload(t, 'open', this.deps.policy) });
          } else {
            tx.removeTicketSource(key, t.dedupKey);
            if (!tx.ticketOpen(key) || tx.ticketSources(key) > 0) {
              this.stats.ticketsSkipped++;
              continue;
            }
            tx.setTicketOpen(key, false);
            tx.enqueue({ id: `ticket|${tid}`, channel: ch, key: `ticket|${key}`, payload: ticketPayload(t, 'resolve', this.deps.policy) });
          }
        }
      }
    });
    if (fresh) this.stats.accepted++;
    else this.stats.duplicate++;
    if (fresh) this.kick();
    return fresh;
  }

  private kick(): void {
    if (!this.running) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = this.now();
    const free = this.cfg.concurrency - this.inflight.size;
    if (free > 0) {
      for (const row of this.outbox.ready(now, free + this.inflight.size)) {
        if (this.inflight.size >= this.cfg.concurrency) break;
        if (this.inflight.has(row.key)) continue;
        const p = this.deliver(row).finally(() => {
          this.inflight.delete(row.key);
          this.kick();
        });
        this.inflight.set(row.key, p);
      }
    }
    const due = this.outbox.nextDue();
    if (due === undefined) {
      if (this.inflight.size === 0) for (const w of this.waiters) w(true);
      return;
    }
    // rows due now are either in flight or waiting for a free slot: both kick again when a send completes
    if (due > now) this.timer = setTimeout(() => this.kick(), due - now);
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const channel = this.deps.channels[row.channel as ChannelName];
    const attempts = row.attempts + 1;
    const payload = JSON.parse(row.payload) as unknown;
    // a child span of the processor's transition span (its traceparent travels in the payload, through the outbox)
    const span = tracer().startSpan(`notifier.${row.channel}`, { kind: SpanKind.CLIENT, attributes: { 'signwatch.channel': row.channel, 'signwatch.notification.id': row.id, 'signwatch.attempt': attempts } }, contextOf(traceparentIn(payload)));
    try {
      if (!channel) throw new NotifyError('SW_NOTIFY_CONFIG', `channel '${row.channel}' is not configured`);
      await context.with(trace.setSpan(context.active(), span), () => channel.send(payload));
      span.end();
      this.outbox.markDelivered(row.seq, attempts, this.now());
      this.stats.delivered++;
      this.sent.add(1, { channel: row.channel, outcome: 'delivered' });
      this.log.info({ channel: row.channel, id: row.id, attempts }, 'notification delivered');
    } catch (e) {
      const err = e instanceof NotifyError ? e : new NotifyError('SW_NOTIFY_NETWORK', (e as Error).message);
      if (span.isRecording()) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${err.code}: ${err.message}` });
        span.end();
      }
      const now = this.now();
      if (!this.outboxOpen()) return;
      if (!err.retryable || now - row.created_at >= this.cfg.retry.maxAgeMs) {
        this.outbox.markDead(row.seq, attempts, now, `${err.code}: ${err.message}`);
        this.stats.dead++;
        this.sent.add(1, { channel: row.channel, outcome: err.retryable ? 'expired' : 'rejected' });
        this.log.error(
          { channel: row.channel, id: row.id, attempts, code: err.code, status: err.status, body: err.body },
          err.retryable ? 'notification given up after retry.maxAgeMs' : 'notification rejected by the receiver: not retried',
        );
        return;
      }
      const delay = Math.max(backoffDelay(attempts, this.cfg.retry, this.random), err.retryAfterMs ?? 0);
      this.outbox.scheduleRetry(row.seq, attempts, now + delay, now, `${err.code}: ${err.message}`);
      this.stats.retried++;
      this.retries.add(1, { channel: row.channel });
      this.log.warn({ channel: row.channel, id: row.id, attempts, code: err.code, status: err.status, retryInMs: delay }, 'notification failed: will retry');
    }
  }

  private outboxOpen(): boolean {
    try {
      this.outbox.counts();
      return true;
    } catch {
      return false;
    }
  }

  drain(timeoutMs: number): Promise<boolean> {
    if (this.outbox.counts().pending === 0 && this.inflight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        this.waiters.delete(w);
        resolve(ok);
      };
      const w = (ok: boolean) => done(ok);
      const t = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(w);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inflight.values()]);
    for (const w of this.waiters) w(false);
    this.outbox.close();
  }
}

/** The `traceparent` a stored notification carries: PagerDuty's in custom_details, the ticket's at its top. */
function traceparentIn(payload: unknown): string | undefined {
  const p = payload as { traceparent?: unknown; payload?: { custom_details?: { traceparent?: unknown } } } | null;
  const tp = p?.payload?.custom_details?.traceparent ?? p?.traceparent;
  return typeof tp === 'string' ? tp : undefined;
}
