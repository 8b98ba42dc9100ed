/**
 * Replay: the engine over an NDJSON stream. The same core the live processor runs; the clock is the event time
 * (per region) and `until` advances it at the end of input. Bad lines are reported (line number + reason),
 * counted and skipped, never fatal.
 */
import type { Readable } from 'node:stream';
import { parseEventFast as parseEvent } from '../../schemas/validate.js';
import type { Policy } from '../engine/policy.js';
import { createEngine } from '../engine/engine.js';
import type { HourlyAggregate, Sink, Transition } from '../engine/types.js';
import { forEachLine } from '../platform/lines.js';

export interface ReplaySummary {
  read: number;
  valid: number;
  invalid: number;
  duplicate: number;
  late: number;
  expired: number;
  transitions: number;
  hourly: number;
}

export interface ReplayOptions {
  policy: Readonly<Policy>;
  until?: number;
  onTransition?: (t: Transition) => void;
  onHourly?: (a: HourlyAggregate) => void;
  onInvalid?: (lineNo: number, reason: string) => void;
  onProgress?: (bytes: number, summary: ReplaySummary) => void;
}

export async function replay(input: Readable, opts: ReplayOptions): Promise<ReplaySummary> {
  const summary: ReplaySummary = { read: 0, valid: 0, invalid: 0, duplicate: 0, late: 0, expired: 0, transitions: 0, hourly: 0 };
  const sink: Sink = {
    transition: (t) => {
      summary.transitions++;
      opts.onTransition?.(t);
    },
    hourly: (a) => {
      summary.hourly++;
      opts.onHourly?.(a);
    },
  };
  const engine = createEngine(opts.policy, sink);
  let bytes = 0;
  await forEachLine(
    input,
    (line, lineNo) => {
      if (line.length === 0 || line.trim().length === 0) return;
      summary.read++;
      const r = parseEvent(line);
      if (!r.ok) {
        summary.invalid++;
        opts.onInvalid?.(lineNo, r.reason);
        return;
      }
      summary.valid++;
      engine.offer(r.event);
    },
    opts.onProgress
      ? (n) => {
          bytes += n;
          opts.onProgress!(bytes, summary);
        }
      : undefined,
  );
  if (opts.until !== undefined) engine.advanceTo(opts.until);
  engine.flush();
  summary.duplicate = engine.stats.duplicate;
  summary.late = engine.stats.late;
  summary.expired = engine.stats.expired;
  return summary;
}
