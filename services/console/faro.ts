/**
 * The console's Faro receiver: POST /collect takes the payload the Grafana Faro Web SDK sends and Grafana Alloy's
 * `faro.receiver` accepts (https://grafana.com/docs/alloy/latest/reference/components/faro/faro.receiver/): one JSON
 * object with `meta` (app, sdk, session, page, browser, user, view) and the item lists `logs`, `exceptions`,
 * `measurements`, `events`, plus `traces` (OTLP JSON: resourceSpans → scopeSpans → spans). Every part is optional;
 * an unknown top-level key is refused, as is a list that is not a list. Counted into /metrics:
 *   signwatch_console_faro_payloads_total{app}            payloads accepted
 *   signwatch_console_faro_items_total{app, kind}         logs / exceptions / measurements / events / spans
 *   signwatch_console_faro_rejected_total{reason}          payloads refused (not JSON object, bad shape)
 *   signwatch_console_faro_measurement{app, name}         histogram of each measurement value (web vitals: ttfb, lcp…)
 * Exceptions are also logged (type and value, control characters escaped, capped).
 */
import { z } from 'zod';
import type { Counter, Histogram } from '@opentelemetry/api';
import type { Telemetry } from '../platform/telemetry.js';
import type { Logger } from '../platform/logger.js';
import { escapeControl } from '../platform/text.js';

const Item = z.record(z.string(), z.unknown());
const Span = z.record(z.string(), z.unknown());
export const FaroPayload = z.strictObject({
  meta: z
    .object({
      app: z.object({ name: z.string().max(200).optional(), version: z.string().max(200).optional(), environment: z.string().max(200).optional() }).loose().optional(),
    })
    .loose()
    .optional(),
  logs: z.array(z.object({ message: z.string().optional(), level: z.string().optional() }).loose()).max(1000).optional(),
  exceptions: z.array(z.object({ type: z.string().optional(), value: z.string().optional() }).loose()).max(1000).optional(),
  measurements: z.array(z.object({ type: z.string().optional(), values: z.record(z.string(), z.number()).optional() }).loose()).max(1000).optional(),
  events: z.array(Item).max(1000).optional(),
  traces: z
    .object({
      resourceSpans: z.array(z.object({ scopeSpans: z.array(z.object({ spans: z.array(Span).optional() }).loose()).optional() }).loose()).optional(),
    })
    .loose()
    .optional(),
});
export type FaroPayload = z.infer<typeof FaroPayload>;

const APP = /^[A-Za-z0-9._-]{1,64}$/;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface FaroCounts {
  logs: number;
  exceptions: number;
  measurements: number;
  events: number;
  spans: number;
}

export function countFaro(p: FaroPayload): FaroCounts {
  let spans = 0;
  for (const rs of p.traces?.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
  return { logs: p.logs?.length ?? 0, exceptions: p.exceptions?.length ?? 0, measurements: p.measurements?.length ?? 0, events: p.events?.length ?? 0, spans };
}

export class FaroReceiver {
  private readonly payloads: Counter;
  private readonly items: Counter;
  private readonly rejected: Counter;
  private readonly measurement: Histogram;

  constructor(
    telemetry: Telemetry,
    private readonly logger?: Logger,
  ) {
    const m = telemetry.meter;
    this.payloads = m.createCounter('signwatch_console_faro_payloads', { description: 'Faro payloads accepted on /collect' });
    this.items = m.createCounter('signwatch_console_faro_items', { description: 'Faro items accepted on /collect, by kind' });
    this.rejected = m.createCounter('signwatch_console_faro_rejected', { description: 'Faro payloads refused on /collect, by reason' });
    this.measurement = m.createHistogram('signwatch_console_faro_measurement', { description: 'Faro measurement values (web vitals in ms, CLS unitless)' });
  }

  /** Validate and count one body; returns the problem (for a 400) or null. */
  accept(body: unknown): string | null {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.rejected.add(1, { reason: 'not_object' });
      return 'the body must be a JSON object (a Faro payload)';
    }
    const r = FaroPayload.safeParse(body);
    if (!r.success) {
      this.rejected.add(1, { reason: 'bad_shape' });
      const i = r.error.issues[0];
      return `not a Faro payload: ${i ? `${i.path.join('.') || '(top)'}: ${i.message}` : 'invalid'}`;
    }
    const p = r.data;
    const rawApp = p.meta?.app?.name ?? '';
    const app = APP.test(rawApp) ? rawApp : 'unknown';
    this.payloads.add(1, { app });
    const c = countFaro(p);
    for (const kind of Object.keys(c) as (keyof FaroCounts)[]) if (c[kind] > 0) this.items.add(c[kind], { app, kind });
    for (const ms of p.measurements ?? []) {
      for (const [name, v] of Object.entries(ms.values ?? {})) if (NAME.test(name) && Number.isFinite(v)) this.measurement.record(v, { app, name });
    }
    for (const e of (p.exceptions ?? []).slice(0, 10)) {
      this.logger?.warn({ app, type: escapeControl(String(e.type ?? '').slice(0, 200)), value: escapeControl(String(e.value ?? '').slice(0, 500)) }, 'console: browser exception (Faro)');
    }
    return null;
  }
}
