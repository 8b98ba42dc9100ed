/**
 * The demo's terminal view. On a terminal (and without --once) it redraws one screen in place every 250 ms with
 * plain ANSI escapes (no dependency): the clocks, each region's live numbers and state (ok / PAGED + FROZEN /
 * WARNING / TICKET), the pipeline counters and the feed of pages, tickets and freezes as they happen. Otherwise
 * (pipe, CI, --once) it prints each feed line once, as a log, plus a progress line per simulated half hour.
 *
 * The numbers come from the events the store writer stored (trailing hour of event time per region); the states
 * come from the alert topic (transitions), the release gate and what the local PagerDuty received.
 * Lifecycle: start() → note()/onEvent()… → stop() (idempotent; restores the cursor, leaves the last screen).
 */
import type { Region, SignEvent } from '../../schemas/events.js';
import { REGIONS } from '../../schemas/events.js';
import type { Transition } from '../engine/types.js';

const HOUR = 3_600_000;
const ESC = '\x1b[';
const color = (on: boolean, code: string, s: string) => (on ? `${ESC}${code}m${s}${ESC}0m` : s);

interface RegionNumbers {
  events: number;
  lastTs: number;
  keychainFails: number[];
  unlocks: { ts: number; ms: number }[];
}

export interface ViewCounters {
  simNow: number;
  stored: number;
  background: number;
  agentCalls: number;
  agentFailures: number;
  /** Critical PagerDuty triggers only. */
  pages: number;
  /** Non-critical PagerDuty triggers (the SG latency warning). */
  warnings: number;
  resolves: number;
  tickets: number;
}

/** One PagerDuty event on the screen's counters: a page is a critical trigger; other triggers are warnings. */
export function countPagerDuty(k: ViewCounters, action: string, severity: string | undefined): void {
  if (action === 'trigger') k[severity === 'critical' ? 'pages' : 'warnings']++;
  else if (action === 'resolve') k.resolves++;
}

export class DemoView {
  private readonly regions = new Map<Region, RegionNumbers>(REGIONS.map((r) => [r, { events: 0, lastTs: 0, keychainFails: [], unlocks: [] }]));
  private readonly firing = new Map<string, Transition>();
  private readonly frozen = new Set<string>();
  private readonly ticketRegions = new Set<string>();
  private readonly feed: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastHalfHour = -1;
  private footer: string[] = [];
  counters: ViewCounters = { simNow: 0, stored: 0, background: 0, agentCalls: 0, agentFailures: 0, pages: 0, warnings: 0, resolves: 0, tickets: 0 };

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly live: boolean,
    private readonly header: string[],
    private readonly simStart: number,
  ) {}

  private get colors(): boolean {
    return this.live;
  }

  start(): void {
    if (this.live) {
      this.out.write(`${ESC}?25l`);
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
      this.draw();
    } else {
      for (const h of this.header) this.out.write(`${h}\n`);
    }
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.draw();
      this.out.write(`${ESC}?25h`);
    }
  }

  /** Relative simulated time, e.g. +1h05m. */
  simLabel(t: number): string {
    const m = Math.max(0, Math.floor((t - this.simStart) / 60_000));
    return `+${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
  }

  note(text: string): void {
    const wall = new Date().toISOString().slice(11, 19);
    const line = `${wall}  sim ${this.simLabel(this.counters.simNow)}  ${text}`;
    this.feed.push(line);
    if (this.feed.length > 12) this.feed.shift();
    if (!this.live) this.out.write(`${line}\n`);
  }

  progress(c: Partial<ViewCounters>): void {
    this.counters = { ...this.counters, ...c };
    const half = Math.floor((this.counters.simNow - this.simStart) / (30 * 60_000));
    if (!this.live && half > this.lastHalfHour) {
      this.lastHalfHour = half;
      this.out.write(`          sim ${this.simLabel(this.counters.simNow)}  ${this.regionSummary()}\n`);
    }
  }

  onEvent(e: SignEvent): void {
    const r = this.regions.get(e.region);
    if (!r) return;
    const ts = Date.parse(e.ts);
    r.events++;
    r.lastTs = Math.max(r.lastTs, ts);
    if (e.type === 'codesign' && e.outcome === 'fail' && e.error?.class === 'keychain') r.keychainFails.push(ts);
    if (e.type === 'unlock') r.unlocks.push({ ts, ms: e.durationMs });
  }

  onTransition(t: Transition): void {
    if (t.state === 'firing') this.firing.set(t.dedupKey, t);
    else this.firing.delete(t.dedupKey);
    if (t.alert === 'cert_expiry' && t.state === 'firing' && t.labels.region) this.ticketRegions.add(t.labels.region);
  }

  setFrozen(region: string, frozen: boolean): void {
    if (frozen) this.frozen.add(region);
    else this.frozen.delete(region);
  }

  setFooter(lines: string[]): void {
    this.footer = lines;
    if (!this.live) for (const l of lines) this.out.write(`${l}\n`);
  }

  private trailing(r: RegionNumbers): { fails: number; p95: number | null; unlocks: number } {
    const from = r.lastTs - HOUR;
    while (r.keychainFails.length && r.keychainFails[0]! <= from) r.keychainFails.shift();
    while (r.unlocks.length && r.unlocks[0]!.ts <= from) r.unlocks.shift();
    const fails = r.keychainFails.filter((t) => t > from).length;
    const ms = r.unlocks.filter((u) => u.ts > from).map((u) => u.ms).sort((a, b) => a - b);
    const p95 = ms.length ? ms[Math.min(ms.length - 1, Math.ceil(0.95 * ms.length) - 1)]! : null;
    return { fails, p95, unlocks: ms.length };
  }

  private regionState(region: Region, c = this.colors): string {
    const parts: string[] = [];
    const f = [...this.firing.values()].filter((t) => t.labels.region === region);
    if (f.some((t) => t.severity === 'critical')) parts.push(color(c, '1;31', 'PAGED'));
    if (this.frozen.has(region)) parts.push(color(c, '1;31', 'releases FROZEN'));
    if (f.some((t) => t.severity === 'warning')) parts.push(color(c, '1;33', 'WARNING unlock p95'));
    if (f.some((t) => t.alert === 'cert_expiry') || this.ticketRegions.has(region)) parts.push(color(c, '1;36', 'TICKET cert rotation'));
    const other = f.filter((t) => t.severity !== 'critical' && t.severity !== 'warning' && t.alert !== 'cert_expiry');
    for (const t of other) parts.push(color(c, '33', t.alert));
    return parts.length ? parts.join(' · ') : color(c, '32', 'ok');
  }

  regionSummary(): string {
    return REGIONS.map((r) => `${r}:${this.regionState(r, false)}`).join('  ');
  }

  render(): string {
    const c = this.colors;
    const lines: string[] = [...this.header, ''];
    const k = this.counters;
    lines.push(`  simulated time ${this.simLabel(k.simNow)} (${new Date(k.simNow).toISOString().slice(0, 16)}Z)   events stored ${k.stored}   agent signing calls ${k.agentCalls} (${k.agentFailures} failed)`);
    lines.push(`  pages ${k.pages}   warnings ${k.warnings}   resolves ${k.resolves}   tickets ${k.tickets}`);
    lines.push('');
    lines.push(color(c, '1', '  region  events   keychain fails (1h)   unlock p95 (1h)   state'));
    for (const region of REGIONS) {
      const r = this.regions.get(region)!;
      const t = this.trailing(r);
      const fails = `${t.fails}${t.fails > 2 ? ' > 2' : ''}`;
      const p95 = t.p95 === null ? '—' : `${t.p95} ms${t.p95 > 800 ? ' > 800' : ''}`;
      lines.push(`  ${region.padEnd(6)}  ${String(r.events).padStart(6)}   ${fails.padEnd(20)}  ${p95.padEnd(16)}  ${this.regionState(region)}`);
    }
    lines.push('', color(c, '1', '  what happened (wall time, simulated time)'));
    const footer = this.footer.length ? ['', ...this.footer] : [];
    // fit the terminal: the feed gets the rows that are left (at least 3), long plain lines are cut
    const room = this.live ? Math.max(3, (this.out.rows || 40) - lines.length - footer.length - 1) : this.feed.length;
    for (const f of this.feed.slice(-room)) lines.push(`  ${f}`);
    lines.push(...footer);
    const width = this.live ? (this.out.columns || 200) - 1 : Infinity;
    return lines.map((l) => (l.length > width && !l.includes(ESC) ? `${l.slice(0, width - 1)}…` : l)).join('\n');
  }

  private draw(): void {
    this.out.write(`${ESC}H${ESC}2J${this.render()}\n`);
  }
}
