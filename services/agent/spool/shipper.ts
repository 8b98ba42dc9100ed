/**
 * Moves events from the spool to the sinks in order, in batches, and deletes a batch only after every sink
 * acknowledged it (Kafka: acks=all). A crash between the acknowledgement and the delete re-sends the batch
 * (at least once). Unparseable spool files are moved aside and counted, never allowed to block the queue.
 */
import type { ShipTarget, OutMessage } from './ship-targets.js';
import { contextOf, recordRemoteSpan, SpanKind, trace, tracer, traceparentOf, type Span } from '../../platform/telemetry.js';

/** What the shipper reads of an event for its trace (agent exec writes these: services/agent/record.ts). */
interface TracedFields {
  traceparent?: unknown;
  parentSpanId?: unknown;
  ts?: unknown;
  durationMs?: unknown;
  type?: unknown;
  tool?: unknown;
  outcome?: unknown;
  host?: unknown;
}

/**
 * The trace of each traced event from the spool to the broker: `agent.spool` (appended → read for shipping) and
 * `agent.ship` (the produce request until acks=all), children of the call's span; the record's `traceparent`
 * header names the ship span. Once the broker acknowledged, the spans end and the call's own span (`agent.exec`,
 * which ran without an SDK) is recorded from the ids in the event. A failed send ends nothing: the retry starts
 * new spans.
 */
function startShipSpans(traced: readonly { m: OutMessage; ev: TracedFields }[]): { end(): void } {
  const now = Date.now();
  const open: { spool: Span; ship: Span; ev: TracedFields }[] = [];
  const t = tracer();
  for (const { m, ev } of traced) {
    const parent = contextOf(ev.traceparent as string);
    if (!trace.getSpanContext(parent)) continue;
    const at = typeof ev.ts === 'string' ? Date.parse(ev.ts) : NaN;
    const spool = t.startSpan('agent.spool', { startTime: Number.isFinite(at) ? Math.min(at, now) : now }, parent);
    const ship = t.startSpan('agent.ship', { kind: SpanKind.PRODUCER, startTime: now, attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.kafka.message.key': m.key } }, parent);
    const tp = traceparentOf(ship);
    if (tp) m.headers = { ...m.headers, traceparent: tp };
    open.push({ spool, ship, ev });
  }
  return {
    end() {
      const acked = Date.now();
      for (const { spool, ship, ev } of open) {
        spool.end(now);
        ship.end(acked);
        const end = typeof ev.ts === 'string' ? Date.parse(ev.ts) : NaN;
        if (!Number.isFinite(end)) continue;
        const dur = typeof ev.durationMs === 'number' ? ev.durationMs : 0;
        recordRemoteSpan(`agent.exec ${typeof ev.tool === 'string' ? ev.tool : String(ev.type)}`, ev.traceparent as string, typeof ev.parentSpanId === 'string' ? ev.parentSpanId : undefined, end - dur, end, {
          'signwatch.event.type': String(ev.type),
          ...(typeof ev.outcome === 'string' ? { 'signwatch.outcome': ev.outcome } : {}),
          ...(typeof ev.host === 'string' ? { 'host.name': ev.host } : {}),
        });
      }
    },
  };
}
import type { Spool } from './spool.js';

export interface ShipStats {
  shipped: number;
  batches: number;
  failures: number;
  quarantined: number;
  lastError?: string;
}

export class Shipper {
  readonly stats: ShipStats = { shipped: 0, batches: 0, failures: 0, quarantined: 0 };

  constructor(
    private readonly spool: Spool,
    private readonly sinks: readonly ShipTarget[],
    private readonly batchSize = 500,
  ) {}

  /** Ship one batch. Returns the number of events shipped (0 when the spool is empty). Throws on sink failure. */
  async shipOnce(): Promise<number> {
    const all = this.spool.list();
    if (all.length === 0) return 0;
    const messages: OutMessage[] = [];
    const traced: { m: OutMessage; ev: TracedFields }[] = [];
    const sent: string[] = [];
    for (const n of all) {
      if (messages.length >= this.batchSize) break;
      const lines = this.spool.read(n);
      // only entries read are removed after the send: one a writer dropped before we read it stays counted dropped
      if (lines === undefined) continue;
      sent.push(n);
      const bad: string[] = [];
      for (const line of lines) {
        let ev: TracedFields & { region?: unknown };
        try {
          ev = JSON.parse(line) as TracedFields & { region?: unknown };
        } catch {
          bad.push(line);
          continue;
        }
        const m: OutMessage = { key: typeof ev.region === 'string' ? ev.region : 'unknown', value: line };
        if (typeof ev.traceparent === 'string') traced.push({ m, ev });
        messages.push(m);
      }
      if (bad.length) {
        this.spool.quarantine(n, bad);
        this.stats.quarantined += bad.length;
      }
    }
    const spans = traced.length ? startShipSpans(traced) : undefined;
    try {
      if (messages.length) for (const s of this.sinks) await s.send(messages);
      spans?.end();
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = (e as Error).message;
      throw e;
    }
    this.spool.remove(sent);
    this.stats.shipped += messages.length;
    this.stats.batches++;
    return Math.max(messages.length, 1);
  }

  /** Ship until the spool is empty or `deadline` (epoch ms) passes. Returns true when the spool was emptied. */
  async drain(deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      if ((await this.shipOnce()) === 0) return true;
    }
    return this.spool.depth() === 0;
  }
}
