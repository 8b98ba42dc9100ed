/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), without any package:
 * `agent exec` (whose start-up loads no OpenTelemetry) uses it to join the CI job's trace or start one, and writes
 * the result into its event. Version 00 only; an all-zero trace or span id is invalid (the spec's rule).
 */
import { randomPoolBytes } from './random.js';

export interface TraceParent {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** 16 lower-case hex digits: the span this context names. */
  spanId: string;
  /** 0..255; bit 0 = sampled. */
  flags: number;
}

export const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(text: string | undefined | null): TraceParent | undefined {
  if (typeof text !== 'string') return undefined;
  const m = TRACEPARENT_RE.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

export function formatTraceparent(t: TraceParent): string {
  return `00-${t.traceId}-${t.spanId}-${(t.flags & 0xff).toString(16).padStart(2, '0')}`;
}

const nonZeroHex = (bytes: number): string => {
  for (;;) {
    const h = randomPoolBytes(bytes).toString('hex'); // no node:crypto: agent exec's start-up
    if (!/^0+$/.test(h)) return h;
  }
};

export const newTraceId = (): string => nonZeroHex(16);
export const newSpanId = (): string => nonZeroHex(8);

/**
 * The trace context of one wrapped call: a new span (this call) in the CI job's trace when `TRACEPARENT` holds a
 * valid one (`parentSpanId` = the CI job's span), else a new sampled trace.
 */
export function childOfEnv(envTraceparent: string | undefined): { traceparent: string; parentSpanId?: string } {
  const parent = parseTraceparent(envTraceparent);
  if (!parent) return { traceparent: formatTraceparent({ traceId: newTraceId(), spanId: newSpanId(), flags: 1 }) };
  return { traceparent: formatTraceparent({ traceId: parent.traceId, spanId: newSpanId(), flags: parent.flags }), parentSpanId: parent.spanId };
}
