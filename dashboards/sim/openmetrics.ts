/**
 * Writes a LiveFleet's metrics over event time as OpenMetrics text with timestamps, for
 * `promtool tsdb create-blocks-from openmetrics` (backfilling a real Prometheus with hours of a simulated
 * incident in seconds). Names and types are what the OpenTelemetry exporter would expose: counters as
 * `<name>_total`, the unlock histogram as `_bucket{le}` / `_sum` / `_count`, the rest gauges.
 */
import type { LiveFleet } from './live-fleet.js';
import type { Labels } from './fleet-metrics.js';

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const fmtLabels = (l: Labels): string => {
  const e = Object.entries(l);
  return e.length === 0 ? '' : `{${e.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
};
const fmtNum = (n: number): string => (n === Infinity ? '+Inf' : Number.isInteger(n) ? String(n) : n.toFixed(3));

/** Advance the fleet from its clock to `until` in `stepMs` steps, sampling everything; returns the OpenMetrics text. */
export function backfill(fleet: LiveFleet, from: number, until: number, stepMs: number): string {
  const families = new Map<string, { type: 'gauge' | 'counter' | 'histogram'; lines: string[] }>();
  const fam = (name: string, type: 'gauge' | 'counter' | 'histogram'): string[] => {
    let f = families.get(name);
    if (!f) {
      f = { type, lines: [] };
      families.set(name, f);
    }
    return f.lines;
  };
  for (let t = from; t <= until; t += stepMs) {
    fleet.advanceTo(t);
    const ts = (t / 1000).toFixed(3);
    for (const s of fleet.metrics.gaugeSamples()) fam(s.name, 'gauge').push(`${s.name}${fmtLabels(s.labels)} ${fmtNum(s.value)} ${ts}`);
    for (const s of fleet.metrics.counterSamples()) fam(s.name, 'counter').push(`${s.name}_total${fmtLabels(s.labels)} ${fmtNum(s.value)} ${ts}`);
    for (const h of fleet.metrics.histogramSamples()) {
      const lines = fam(h.name, 'histogram');
      for (const [le, c] of h.buckets) lines.push(`${h.name}_bucket${fmtLabels({ ...h.labels, le: fmtNum(le) })} ${c} ${ts}`);
      lines.push(`${h.name}_count${fmtLabels(h.labels)} ${h.count} ${ts}`);
      lines.push(`${h.name}_sum${fmtLabels(h.labels)} ${fmtNum(h.sum)} ${ts}`);
    }
    fleet.metrics.drainObservations();
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.lines);
  }
  out.push('# EOF', '');
  return out.join('\n');
}
