/**
 * A brute-force reference for drills, straight from the definition in docs/engine.md ("Drills"): for every drill
 * start of a region, the cohort is re-derived from every accepted event, and at every instant an event happened
 * the whole evidence is re-scanned from scratch. Slow and obviously right; the drill tests require the engine to
 * write exactly these records. Input: the accepted events in order, with distinct instants.
 */
import type { Region, SignEvent } from '../../../schemas/events.js';
import type { Policy } from '../../../services/engine/policy.js';

export interface RefDrillRecord {
  drillId: string;
  region: Region;
  state: 'pending' | 'green' | 'red';
  at: number;
  timeToGreenMs: number | null;
  pendingHosts: string[];
  lacks: Record<string, ('scan' | 'sign')[]>;
  hosts: string[];
  reason?: 'timeout' | 'stopped';
}

const ms = (e: SignEvent) => Date.parse(e.ts);

export function referenceDrills(events: readonly SignEvent[], p: Readonly<Policy>, until = Infinity): RefDrillRecord[] {
  const out: RefDrillRecord[] = [];
  for (const d of events) {
    if (d.type !== 'drill' || d.action !== 'start' || d.sha1 === undefined) continue;
    const sha1 = d.sha1;
    const region = d.region;
    const S = ms(d);
    const deadline = S + (d.timeoutMs ?? p.drill.timeout);
    const mine = events.filter((e) => e.region === region);
    const stop = mine.find(
      // the first stop of the drill before its deadline
      (e) => e.type === 'drill' && e.action === 'stop' && e.drillId === d.drillId && ms(e) < deadline);
    const end = stop ? Math.max(ms(stop), S) : deadline;
    const cohort = [...new Set(mine.filter((e) => e.type === 'heartbeat' && e.pool === 'signing' && ms(e) >= S - p.drill.lookback && ms(e) < S).map((e) => e.host))].sort();
    const lacksAt = (t: number) => {
      const lacks: Record<string, ('scan' | 'sign')[]> = {};
      for (const h of cohort) {
        const seen = mine.filter((e) => e.host === h && e.pool === 'signing' && ms(e) >= S && ms(e) <= t);
        const l: ('scan' | 'sign')[] = [];
        if (!seen.some((e) => e.type === 'heartbeat' && e.certSha1s !== undefined && !e.certSha1s.includes(sha1))) l.push('scan');
        if (!seen.some((e) => e.type === 'codesign' && e.outcome === 'ok' && e.operation === 'sign' && e.identity !== undefined && e.identity !== sha1)) l.push('sign');
        if (l.length) lacks[h] = l;
      }
      return lacks;
    };
    const rec = (state: RefDrillRecord['state'], at: number, lacks: Record<string, ('scan' | 'sign')[]>, reason?: 'timeout' | 'stopped'): RefDrillRecord => ({
      drillId: d.drillId,
      region,
      state,
      at,
      timeToGreenMs: state === 'green' ? at - S : null,
      pendingHosts: Object.keys(lacks),
      lacks,
      hosts: cohort,
      ...(reason ? { reason } : {}),
    });
    // the candidate instants: the start and every later instant an event of the region happened, before the end
    const instants = [S, ...mine.map(ms).filter((t) => t > S && t < end)].sort((a, b) => a - b);
    let last = '';
    let done = false;
    for (const t of instants) {
      if (t > until) break;
      const lacks = lacksAt(t);
      if (Object.keys(lacks).length === 0) {
        out.push(rec('green', t, lacks));
        done = true;
        break;
      }
      const sig = JSON.stringify(lacks);
      if (sig !== last) out.push(rec('pending', t, lacks));
      last = sig;
    }
    if (!done && end <= until) out.push(rec('red', end, lacksAt(end - 1), stop ? 'stopped' : 'timeout'));
  }
  return out;
}
