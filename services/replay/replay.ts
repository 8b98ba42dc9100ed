/**
 * Replay: the engine over an NDJSON stream. The same core the live processor runs; the clock is the event time
 * (per region) and `until` advances it at the end of input. Bad lines are reported (line number + reason),
 * counted and skipped, never fatal.
 *
 * Each event has a reference time (docs/engine.md, "Bounded event time"): the record time when the line carries it
 * — a topic export (`kcat -C -J`: {"ts", "payload"}), a `signwatch dlq export` record ({"source": {"timestamp"},
 * "value"}) or {"timestamp", "value"} — else `now` (the wall clock when replay starts, or --now). An event stamped
 * more than maxFutureSkew beyond it is reported as future_timestamp and changes nothing but its host's clock_skew.
 */
import type { Readable } from 'node:stream';
import { fastValidate, parseEventFast as parseEvent } from '../../schemas/validate.js';
import type { ParseResult } from '../../schemas/events.js';
import type { Policy } from '../engine/policy.js';
import { createEngine } from '../engine/engine.js';
import type { HourlyAggregate, Sink, Transition } from '../engine/types.js';
import type { DrillRecord } from '../engine/drill.js';
import { forEachLine, tooLongReason, DEFAULT_MAX_LINE_BYTES } from '../platform/lines.js';
import { futureReason } from '../engine/time.js';
import { escapeControl } from '../platform/text.js';

export interface ReplaySummary {
  read: number;
  valid: number;
  invalid: number;
  duplicate: number;
  late: number;
  expired: number;
  future: number;
  transitions: number;
  hourly: number;
  drills: number;
}

export interface ReplayOptions {
  policy: Readonly<Policy>;
  until?: number;
  onTransition?: (t: Transition) => void;
  onHourly?: (a: HourlyAggregate) => void;
  /** A drilled region's change (kind "drill"), in order with the transitions. */
  onDrill?: (d: DrillRecord) => void;
  onInvalid?: (lineNo: number, reason: string) => void;
  /** A valid event stamped beyond its reference time + maxFutureSkew. */
  onFuture?: (lineNo: number, reason: string) => void;
  /** Reference time of lines that carry no record time (default: the wall clock when replay starts). */
  now?: number;
  onProgress?: (bytes: number, summary: ReplaySummary) => void;
  /** Longest line read (bytes); a longer one is counted invalid, reported by number and skipped. */
  maxLineBytes?: number;
}

export async function replay(input: Readable, opts: ReplayOptions): Promise<ReplaySummary> {
  const summary: ReplaySummary = { read: 0, valid: 0, invalid: 0, duplicate: 0, late: 0, expired: 0, future: 0, transitions: 0, hourly: 0, drills: 0 };
  const now = opts.now ?? Date.now();
  const sink: Sink = {
    transition: (t) => {
      summary.transitions++;
      opts.onTransition?.(t);
    },
    hourly: (a) => {
      summary.hourly++;
      opts.onHourly?.(a);
    },
    drill: (d) => {
      summary.drills++;
      opts.onDrill?.(d);
    },
  };
  const engine = createEngine(opts.policy, sink);
  let bytes = 0;
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  await forEachLine(
    input,
    (line, lineNo) => {
      if (line.length === 0 || line.trim().length === 0) return;
      summary.read++;
      const { r, timestamp } = parseLine(line);
      if (!r.ok) {
        summary.invalid++;
        opts.onInvalid?.(lineNo, r.reason);
        return;
      }
      summary.valid++;
      const ref = timestamp ?? now;
      if (engine.offer(r.event, ref) === 'future') opts.onFuture?.(lineNo, futureReason(r.event.ts, ref, opts.policy.maxFutureSkew));
    },
    {
      maxLineBytes,
      onTooLong: (lineNo, n) => {
        summary.read++;
        summary.invalid++;
        opts.onInvalid?.(lineNo, tooLongReason(n, maxLineBytes));
      },
      ...(opts.onProgress
        ? {
            onChunk: (n: number) => {
              bytes += n;
              opts.onProgress!(bytes, summary);
            },
          }
        : {}),
    },
  );
  if (opts.until !== undefined) engine.advanceTo(opts.until);
  engine.flush();
  summary.duplicate = engine.stats.duplicate;
  summary.late = engine.stats.late;
  summary.expired = engine.stats.expired;
  summary.future = engine.stats.future;
  return summary;
}

const MAX_EVENT_BYTES = 64 * 1024;

/**
 * One line → its event (validated) and, for a record of a topic export, its record time. The same result as
 * parseEvent(recordOf(line).text) with the line parsed once: a wire event line (the common case) is JSON.parse'd a
 * single time and validated as parsed, and the substring checks of recordOf run only when the parsed line carries a
 * string payload or value.
 */
export function parseLine(line: string): { r: ParseResult; timestamp?: number } {
  if (line.length > MAX_EVENT_BYTES) {
    const rec = recordOf(line);
    return { r: parseEvent(rec.text, MAX_EVENT_BYTES), ...(rec.timestamp !== undefined ? { timestamp: rec.timestamp } : {}) };
  }
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    return { r: { ok: false, reason: `not JSON: ${escapeControl((e as Error).message)}` } }; // printable, as parseEvent's
  }
  if (typeof o === 'object' && o !== null && !Array.isArray(o)) {
    const rec = o as { payload?: unknown; value?: unknown };
    if ((typeof rec.payload === 'string' || typeof rec.value === 'string') && (line.includes('"payload"') || line.includes('"value"'))) {
      const unwrapped = recordOfParsed(line, o);
      if (unwrapped.text !== line) {
        return { r: parseEvent(unwrapped.text, MAX_EVENT_BYTES), ...(unwrapped.timestamp !== undefined ? { timestamp: unwrapped.timestamp } : {}) };
      }
    }
  }
  const v = fastValidate(o);
  return { r: v.ok ? v : { ok: false, reason: escapeControl(v.reason) } };
}

/** A line's event text and, when the line is a record of a topic export, its record time (ms). */
export function recordOf(line: string): { text: string; timestamp?: number } {
  // a wire event starts with its fields; an export record wraps it as a string under payload / value
  if (!line.includes('"payload"') && !line.includes('"value"')) return { text: line };
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return { text: line }; // reported as not JSON by the parser
  }
  return recordOfParsed(line, o);
}

function recordOfParsed(line: string, o: unknown): { text: string; timestamp?: number } {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { text: line };
  const rec = o as { payload?: unknown; value?: unknown; ts?: unknown; timestamp?: unknown; source?: { timestamp?: unknown } };
  const text = typeof rec.payload === 'string' ? rec.payload : typeof rec.value === 'string' ? rec.value : undefined;
  if (text === undefined) return { text: line };
  const t = timeOf(typeof rec.payload === 'string' ? rec.ts : (rec.timestamp ?? rec.source?.timestamp));
  return t === undefined ? { text } : { text, timestamp: t };
}

function timeOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '') {
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
