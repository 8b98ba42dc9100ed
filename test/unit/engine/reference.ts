/**
 * A brute-force reference for the alert semantics of the design contract (kept outside this repository): after every event it re-scans every accepted
 * event at every instant where any condition could change, from scratch. Slow and obviously right; the property
 * test requires the engine to produce exactly the same transitions.
 */
import type { SignEvent, Region } from '../../../schemas/events.js';
import type { Policy } from '../../../services/engine/policy.js';
import { nearestRank } from '../../../services/engine/rules/unlock_latency_p95/rule.js';
import { dedupKey } from '../../../services/engine/rule.js';

const DAY = 86_400_000;

export interface RefTransition {
  alert: string;
  labels: Record<string, string>;
  state: 'firing' | 'resolved';
  at: number;
  value: number;
}

interface Acc {
  e: SignEvent;
  ts: number;
  seq: number;
}

/** Latest report (max ts, ties: last arrived) among those with ts ≤ t. */
function latest(list: Acc[], t: number): Acc | undefined {
  let best: Acc | undefined;
  for (const a of list) if (a.ts <= t && (!best || a.ts > best.ts || (a.ts === best.ts && a.seq > best.seq))) best = a;
  return best;
}

function conditions(acc: Acc[], region: Region, t: number, p: Readonly<Policy>): Map<string, { alert: string; labels: Record<string, string>; fire: boolean; value: number }> {
  const out = new Map<string, { alert: string; labels: Record<string, string>; fire: boolean; value: number }>();
  const put = (alert: string, labels: Record<string, string>, fire: boolean, value: number) => out.set(dedupKey(alert, labels), { alert, labels, fire, value });
  const A = p.alerts;
  const upTo = acc.filter((a) => a.ts <= t);
  // keychain failures: signing calls (not --verify) and notarizations that failed on the keychain
  const kcFailure = (e: SignEvent) =>
    (e.type === 'codesign' && e.outcome === 'fail' && e.error?.class === 'keychain' && e.operation !== 'verify' && e.operation !== 'display') || (e.type === 'notarize' && e.outcome === 'error' && e.error?.class === 'keychain');
  const kc = upTo.filter((a) => kcFailure(a.e) && a.ts > t - A.codesign_keychain_failures.window).length;
  put('codesign_keychain_failures', { region }, kc > A.codesign_keychain_failures.threshold, kc);
  // unlock p95
  const durs = upTo.filter((a) => a.e.type === 'unlock' && a.ts > t - A.unlock_latency_p95.window).map((a) => (a.e as { durationMs: number }).durationMs).sort((x, y) => x - y);
  const p95 = nearestRank(durs, A.unlock_latency_p95.quantile);
  put('unlock_latency_p95', { region }, durs.length >= A.unlock_latency_p95.minSamples && p95 !== null && p95 > A.unlock_latency_p95.thresholdMs, p95 ?? 0);
  // cert expiry and cert revoked: presence from reports and inventories (presenceAt)
  for (const [alert, cfg] of [['cert_expiry', A.cert_expiry], ['cert_revoked', A.cert_revoked]] as const) {
    const pr = presenceAt(acc, t, cfg.staleAfter, cfg.forgetAfter, alert === 'cert_revoked');
    for (const c of pr.certs.values()) {
      const present = [...c.hosts.values()].some((ts) => t < ts + cfg.staleAfter);
      const replaced = [...pr.certs.values()].some((o) => o.sha1 !== c.sha1 && o.certKind === c.certKind && o.teamId === c.teamId && o.notAfter > c.notAfter && !o.revoked && o.last >= c.last);
      const resolved = c.removed || (!present && replaced);
      if (alert === 'cert_expiry') put(alert, { region, sha1: c.sha1 }, !resolved && c.notAfter - t < A.cert_expiry.days * DAY, Math.floor((c.notAfter - t) / DAY));
      else if (c.revoked) put(alert, { region, sha1: c.sha1 }, !resolved, [...c.hosts.values()].filter((ts) => t < ts + cfg.staleAfter).length);
    }
    for (const c of pr.forgotten) if (!pr.certs.has(c.sha1)) put(alert, { region, sha1: c.sha1 }, false, alert === 'cert_expiry' ? Math.floor((c.notAfter - t) / DAY) : 0);
  }
  // clock skew (successful probes; a host without one for forgetAfter is forgotten) and clock_unverified (all probes)
  const okProbes = new Map<string, Acc[]>();
  const probes = new Map<string, Acc[]>();
  for (const a of upTo) {
    if (a.e.type !== 'clock') continue;
    probes.set(a.e.host, [...(probes.get(a.e.host) ?? []), a]);
    if (a.e.outcome !== 'fail' && a.e.offsetMs !== undefined) okProbes.set(a.e.host, [...(okProbes.get(a.e.host) ?? []), a]);
  }
  for (const [host, list] of okProbes) {
    const l = latest(list, t)!;
    const off = (l.e as { offsetMs: number }).offsetMs;
    put('clock_skew', { region, host }, Math.abs(off) > A.clock_skew.maxOffsetMs && t < l.ts + A.clock_skew.forgetAfter, off);
  }
  for (const [host, list] of probes) {
    // arrival order, older ones skipped (as the rule does); a run continues from a probe < forgetAfter before
    let cur: { ts: number; failed: boolean; failures: number } | undefined;
    for (const a of [...list].sort((x, y) => x.seq - y.seq)) {
      if (cur && cur.ts > a.ts) continue;
      const failed = (a.e as { outcome?: string }).outcome === 'fail' || (a.e as { offsetMs?: number }).offsetMs === undefined;
      const run = cur && cur.failed && a.ts - cur.ts < A.clock_unverified.forgetAfter ? cur.failures : 0;
      cur = { ts: a.ts, failed, failures: failed ? run + 1 : 0 };
    }
    const live = cur !== undefined && t < cur.ts + A.clock_unverified.forgetAfter;
    put('clock_unverified', { region, host }, live && cur!.failed, live ? cur!.failures : 0);
  }
  // acl outside window
  const acls = new Map<string, number>();
  for (const a of upTo) if (a.e.type === 'acl' && !a.e.declared) acls.set(a.e.host, (acls.get(a.e.host) ?? 0) + (a.ts > t - A.acl_outside_window.holdFor ? 1 : 0));
  for (const [host, n] of acls) put('acl_outside_window', { region, host }, n > 0, n);
  // parity drift: a fleet alert (fleetConditions)
  const hbs = new Map<string, Acc[]>();
  for (const a of upTo) if (a.e.type === 'heartbeat') hbs.set(a.e.host, [...(hbs.get(a.e.host) ?? []), a]);
  // distribution key on compile host
  const dist = new Map<string, Set<string>>();
  for (const a of upTo) {
    const e = a.e;
    if (e.type !== 'cert' || e.pool !== 'compile' || !A.distribution_key_on_compile_host.kinds.some((k) => e.certKind.startsWith(k))) continue;
    if (!dist.has(e.host)) dist.set(e.host, new Set());
    const newest = latest(upTo.filter((b) => b.e.type === 'cert' && b.e.host === e.host && b.e.sha1 === e.sha1 && b.e.pool === 'compile'), t)!;
    if (t < newest.ts + A.distribution_key_on_compile_host.staleAfter) dist.get(e.host)!.add(e.sha1);
  }
  for (const [host, s] of dist) put('distribution_key_on_compile_host', { region, host }, s.size > 0, s.size);
  // host silent: latest heartbeat older than silentAfter (forgotten after forgetAfter)
  for (const [host, list] of hbs) {
    const last = Math.max(...list.map((a) => a.ts));
    put('host_silent', { region, host }, t >= last + A.host_silent.silentAfter && t < last + A.host_silent.forgetAfter, Math.round((t - last) / 1000));
  }
  // region silent: the latest heartbeat of any host of the region, as host_silent for one key
  if (hbs.size > 0) {
    const last = Math.max(...[...hbs.values()].flat().map((a) => a.ts));
    put('region_silent', { region }, t >= last + A.region_silent.silentAfter && t < last + A.region_silent.forgetAfter, Math.round((t - last) / 1000));
  }
  // spool dropped: a heartbeat total above the previous (< forgetAfter before) holds the alert for holdFor
  for (const [host, list] of hbs) {
    let cur: { ts: number; total: number; until: number; dropped: number } | undefined;
    for (const a of [...list].sort((x, y) => x.seq - y.seq)) {
      if (cur && cur.ts > a.ts) continue;
      const total = (a.e as { spoolDropped?: number }).spoolDropped ?? 0;
      const recent = cur !== undefined && a.ts - cur.ts < A.spool_dropped.forgetAfter;
      const prev = recent ? cur!.total : 0;
      const holding = recent && a.ts < cur!.until;
      cur = total > prev ? { ts: a.ts, total, until: a.ts + A.spool_dropped.holdFor, dropped: (holding ? cur!.dropped : 0) + total - prev } : { ts: a.ts, total, until: recent ? cur!.until : -Infinity, dropped: holding ? cur!.dropped : 0 };
    }
    if (cur) put('spool_dropped', { region, host }, t < cur.until && t < cur.ts + A.spool_dropped.forgetAfter, cur.dropped);
  }
  // notarization: Apple-side failed attempts (retries included) and our own failures in the window
  const notarizations = upTo.filter((a) => a.e.type === 'notarize');
  const apple = (e: SignEvent) => {
    if (e.type !== 'notarize') return 0;
    const side = (c: string) => c === 'apple_api' || c === 'network';
    return (e.attemptErrors ?? []).filter((x) => side(x.class)).length + (e.outcome === 'error' && e.error && side(e.error.class) ? 1 : 0);
  };
  const appleN = notarizations.filter((a) => a.ts > t - A.notary_apple_outage.window).reduce((n, a) => n + apple(a.e), 0);
  put('notary_apple_outage', { region }, appleN > A.notary_apple_outage.threshold, appleN);
  const ours = notarizations.filter((a) => a.ts > t - A.notary_our_failures.window && a.e.type === 'notarize' && a.e.outcome === 'error' && (a.e.error?.class === 'auth' || a.e.error?.class === 'keychain')).length;
  put('notary_our_failures', { region }, ours > A.notary_our_failures.threshold, ours);
  return out;
}

/** Fleet alerts at t over every region's accepted heartbeats: parity_drift (fleet majority; per-region fields). */
function fleetConditions(acc: Acc[], t: number, p: Readonly<Policy>): Map<string, { alert: string; labels: Record<string, string>; fire: boolean; value: number }> {
  const out = new Map<string, { alert: string; labels: Record<string, string>; fire: boolean; value: number }>();
  const A = p.alerts.parity_drift;
  const byHost = new Map<string, Acc[]>();
  for (const a of acc) if (a.ts <= t && a.e.type === 'heartbeat') byHost.set(a.e.host, [...(byHost.get(a.e.host) ?? []), a]);
  const valueOf = (e: SignEvent, f: string): string | undefined => {
    const h = e as Extract<SignEvent, { type: 'heartbeat' }>;
    if (f === 'wrapperSha256') return h.wrapperSha256;
    if (f === 'keychain') return h.keychain ?? h.searchList[0] ?? '';
    if (f === 'searchList') return h.searchList.join('\n');
    if (f === 'teamIds') return [...h.teamIds].sort().join(',');
    if (f === 'secretVersion') return h.secretVersion;
    return h.notaryProfile;
  };
  const active = [...byHost].map(([host, list]) => [host, latest(list, t)!] as const).filter(([, l]) => t < l.ts + A.staleAfter);
  const majority = (vals: (string | undefined)[]) => {
    const vs = vals.filter((v): v is string => v !== undefined);
    for (const v of new Set(vs)) if (vs.filter((x) => x === v).length * 2 > vs.length) return v;
    return undefined;
  };
  for (const [host, l] of active) {
    let diff = 0;
    for (const f of A.fields) {
      const v = valueOf(l.e, f);
      if (v === undefined) continue;
      if (A.perRegion.includes(f)) {
        const b = majority(active.filter(([, x]) => x.e.region === l.e.region).map(([, x]) => valueOf(x.e, f)));
        if (b === undefined || b !== v) diff++;
      } else {
        const b = majority(active.map(([, x]) => valueOf(x.e, f)));
        if (b !== undefined && b !== v) diff++;
      }
    }
    out.set(dedupKey('parity_drift', { region: l.e.region, host }), { alert: 'parity_drift', labels: { region: l.e.region, host }, fire: diff > 0, value: diff });
  }
  return out;
}

interface RefCert {
  sha1: string;
  certKind: string;
  teamId: string | undefined;
  notAfter: number;
  revoked: boolean;
  hosts: Map<string, number>;
  removed: boolean;
  last: number;
}

/**
 * Certificate presence at t, by replaying the accepted events in arrival order (services/engine/cert-presence.ts
 * says what it means). Forgetting happens at the instants the engine evaluates: before each event, up to
 * max(clock so far, its ts − 1 ms) (the engine advances its rules there before observing it), and at t.
 */
function presenceAt(acc: Acc[], t: number, staleAfter: number, forgetAfter: number, revokedUses: boolean): { certs: Map<string, RefCert>; forgotten: RefCert[] } {
  const certs = new Map<string, RefCert>();
  const inv = new Map<string, { ts: number; list: Set<string> }>();
  let forgotten: RefCert[] = [];
  const forget = (at: number) => {
    for (const c of [...certs.values()]) {
      if (at >= c.last + forgetAfter) {
        certs.delete(c.sha1);
        forgotten.push(c);
      }
    }
    for (const [h, i] of [...inv]) if (at >= i.ts + forgetAfter) inv.delete(h);
  };
  const report = (sha1: string, host: string, ts: number, facts: { certKind?: string; teamId?: string | undefined; notAfter?: number; revoked?: boolean }) => {
    let c = certs.get(sha1);
    if (!c) certs.set(sha1, (c = { sha1, certKind: facts.certKind ?? '', teamId: facts.teamId, notAfter: facts.notAfter ?? Infinity, revoked: false, hosts: new Map(), removed: false, last: -Infinity }));
    if (facts.notAfter !== undefined && ts >= c.last) {
      c.notAfter = facts.notAfter;
      if (facts.certKind) c.certKind = facts.certKind;
      if (facts.teamId) c.teamId = facts.teamId;
    }
    if (facts.revoked) c.revoked = true;
    const i = inv.get(host);
    if (i && i.ts > ts && !i.list.has(sha1)) {
      if (c.hosts.size === 0) c.removed = true;
      return;
    }
    if ((c.hosts.get(host) ?? -Infinity) <= ts) c.hosts.set(host, ts);
    c.removed = false;
    c.last = Math.max(c.last, ts);
  };
  let clock = -Infinity;
  for (const a of [...acc].sort((x, y) => x.seq - y.seq)) {
    if (a.ts > t) continue; // not known yet at t (the engine evaluates t before observing it)
    forget(Math.max(clock, a.ts - 1));
    forgotten = forgotten.filter((c) => !certs.has(c.sha1));
    const e = a.e;
    if (e.type === 'cert') report(e.sha1, e.host, a.ts, { certKind: e.certKind, teamId: e.teamId, notAfter: Date.parse(e.notAfter), revoked: e.revoked === true });
    else if (e.type === 'codesign' && revokedUses && e.outcome === 'fail' && e.error?.code === 'CSSMERR_TP_CERT_REVOKED' && e.identity) report(e.identity, e.host, a.ts, { revoked: true });
    else if (e.type === 'heartbeat' && e.certSha1s !== undefined && !((inv.get(e.host)?.ts ?? -Infinity) > a.ts)) {
      const list = new Set(e.certSha1s);
      inv.set(e.host, { ts: a.ts, list });
      for (const c of certs.values()) {
        const r = c.hosts.get(e.host);
        if (r === undefined || r >= a.ts) continue;
        if (list.has(c.sha1)) {
          c.hosts.set(e.host, a.ts);
          c.last = Math.max(c.last, a.ts);
        } else {
          c.hosts.delete(e.host);
          if (c.hosts.size === 0) c.removed = true;
        }
      }
    }
    clock = Math.max(clock, a.ts);
  }
  forgotten = [];
  forget(t);
  return { certs, forgotten };
}

function candidates(acc: Acc[], p: Readonly<Policy>): number[] {
  const A = p.alerts;
  const c: number[] = [];
  for (const { e, ts } of acc) {
    c.push(ts);
    if (e.type === 'codesign') c.push(ts + A.codesign_keychain_failures.window);
    if (e.type === 'notarize') c.push(ts + A.codesign_keychain_failures.window, ts + A.notary_apple_outage.window, ts + A.notary_our_failures.window);
    if (e.type === 'clock') c.push(ts + A.clock_skew.forgetAfter, ts + A.clock_unverified.forgetAfter);
    if (e.type === 'heartbeat') c.push(ts + A.host_silent.silentAfter, ts + A.host_silent.forgetAfter, ts + A.spool_dropped.holdFor, ts + A.spool_dropped.forgetAfter, ts + A.region_silent.silentAfter, ts + A.region_silent.forgetAfter);
    if (e.type === 'unlock') c.push(ts + A.unlock_latency_p95.window);
    if (e.type === 'acl') c.push(ts + A.acl_outside_window.holdFor);
    if (e.type === 'heartbeat') c.push(ts + A.parity_drift.staleAfter);
    if (e.type === 'cert') c.push(ts + A.cert_expiry.staleAfter, ts + A.cert_expiry.forgetAfter, Date.parse(e.notAfter) - A.cert_expiry.days * DAY + 1, ts + A.distribution_key_on_compile_host.staleAfter, ts + A.cert_revoked.staleAfter, ts + A.cert_revoked.forgetAfter);
    if (e.type === 'heartbeat') c.push(ts + A.cert_expiry.staleAfter, ts + A.cert_expiry.forgetAfter, ts + A.cert_revoked.staleAfter, ts + A.cert_revoked.forgetAfter);
    if (e.type === 'codesign') c.push(ts + A.cert_revoked.staleAfter, ts + A.cert_revoked.forgetAfter);
  }
  return c;
}

export function reference(events: SignEvent[], p: Readonly<Policy>, until?: number): { transitions: RefTransition[]; outcomes: string[]; clocks: Map<Region, number>; fleetClock: number } {
  const state = new Map<Region, { clock: number; acc: Acc[]; firing: Map<string, number>; seen: Set<string> }>();
  const fleet = { clock: -Infinity, acc: [] as Acc[], firing: new Map<string, number>() };
  const transitions: RefTransition[] = [];
  const outcomes: string[] = [];
  let seq = 0;
  const evalRange = (region: Region | 'fleet', s: { clock: number; acc: Acc[]; firing: Map<string, number> }, from: number, to: number, forceTo: boolean) => {
    const pts = [...new Set((region === 'fleet' ? s.acc.flatMap((a) => [a.ts, a.ts + p.alerts.parity_drift.staleAfter]) : candidates(s.acc, p)).filter((x) => x > from && x <= to))];
    if (forceTo && !pts.includes(to)) pts.push(to);
    pts.sort((a, b) => a - b);
    for (const b of pts) {
      const conds = region === 'fleet' ? fleetConditions(s.acc, b, p) : conditions(s.acc, region, b, p);
      for (const [key] of [...s.firing]) {
        if (conds.has(key)) continue;
        const [alert, rest] = [key.split('/')[1]!, key.split('/')[2]!];
        const labels = Object.fromEntries(rest.split(',').map((kv) => kv.split('=') as [string, string]));
        s.firing.delete(key);
        transitions.push({ alert, labels, state: 'resolved', at: b, value: 0 });
      }
      for (const [key, c] of conds) {
        const was = s.firing.has(key);
        if (c.fire && !was) {
          s.firing.set(key, c.value);
          transitions.push({ alert: c.alert, labels: c.labels, state: 'firing', at: b, value: c.value });
        } else if (!c.fire && was) {
          s.firing.delete(key);
          transitions.push({ alert: c.alert, labels: c.labels, state: 'resolved', at: b, value: c.value });
        }
      }
    }
  };
  for (const e of events) {
    let s = state.get(e.region);
    if (!s) state.set(e.region, (s = { clock: -Infinity, acc: [], firing: new Map(), seen: new Set() }));
    const ts = Date.parse(e.ts);
    if (ts < s.clock - p.hourlyRetention) {
      outcomes.push('expired');
      continue;
    }
    if (s.seen.has(e.id)) {
      outcomes.push('duplicate');
      continue;
    }
    s.seen.add(e.id);
    if (ts < s.clock - p.allowedLateness) {
      outcomes.push('late');
      continue;
    }
    outcomes.push('accepted');
    s.acc.push({ e, ts, seq: seq++ });
    const to = Math.max(s.clock, ts);
    evalRange(e.region, s, s.clock, to, true);
    s.clock = to;
    if (e.type === 'heartbeat') {
      // the fleet alerts see the event once its region accepted it, on the fleet's own clock
      fleet.acc.push({ e, ts, seq: seq++ });
      const fto = Math.max(fleet.clock, ts);
      evalRange('fleet', fleet, fleet.clock, fto, true);
      fleet.clock = fto;
    }
  }
  if (until !== undefined) {
    for (const [region, s] of state) {
      if (until > s.clock) {
        evalRange(region, s, s.clock, until, false);
        s.clock = until;
      }
    }
    if (until > fleet.clock) {
      evalRange('fleet', fleet, fleet.clock, until, false);
      fleet.clock = until;
    }
  }
  return { transitions, outcomes, clocks: new Map([...state].map(([r, st]) => [r, st.clock])), fleetClock: fleet.clock };
}

/**
 * Damping (policy `for` / `keepFiringFor`) applied to raw transitions, by brute force: per label set, the raw
 * condition is true on [fire, resolve) intervals; the damped alert fires at f + for when the interval is still open
 * then (f + for < r), and resolves at r + keep when the condition is still false then (r + keep < next f). A deadline
 * is emitted only if the region's clock reached it (`clocks`).
 */
export function damp(raw: readonly RefTransition[], forMs: (alert: string) => number, keepMs: (alert: string) => number, clocks: Map<Region, number>, fleetClock = -Infinity, fleetAlerts: ReadonlySet<string> = new Set(['parity_drift'])): RefTransition[] {
  const byKey = new Map<string, RefTransition[]>();
  for (const t of raw) {
    const k = `${t.alert}|${JSON.stringify(t.labels, Object.keys(t.labels).sort())}`;
    const list = byKey.get(k) ?? [];
    list.push(t);
    byKey.set(k, list);
  }
  const out: RefTransition[] = [];
  for (const list of byKey.values()) {
    const alert = list[0]!.alert;
    const labels = list[0]!.labels;
    const end = fleetAlerts.has(alert) ? fleetClock : (clocks.get(labels.region as Region) ?? -Infinity);
    const F = forMs(alert);
    const K = keepMs(alert);
    let firing = false;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      const nextAt = list[i + 1]?.at ?? Infinity;
      if (t.state === 'firing' && !firing) {
        const due = t.at + F;
        if (due < nextAt && due <= end) {
          out.push({ alert, labels, state: 'firing', at: due, value: 0 });
          firing = true;
        }
      } else if (t.state === 'resolved' && firing) {
        const due = t.at + K;
        if (due < nextAt && due <= end) {
          out.push({ alert, labels, state: 'resolved', at: due, value: 0 });
          firing = false;
        }
      }
    }
  }
  return out;
}
