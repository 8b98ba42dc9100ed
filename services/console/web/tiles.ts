/**
 * The figures under each Fleet tile (services/console/figures.ts: the processor's exact gauges), in words: each
 * says the value, the threshold it is held against, and "over the threshold" when it is (colour only repeats it).
 */
import type { WireFigures } from '../wire.js';

function row(key: string, label: string, text: string, over: boolean, why = 'over the threshold'): HTMLElement[] {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.dataset.figure = key;
  dd.textContent = over ? `${text} — ${why}` : text;
  if (over) dd.className = 'over';
  return [dt, dd];
}

const hoursOf = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 60_000)} min`);

function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

/** The figures of one region as a description list, or nothing when the console reads no processor. */
export function figureList(region: string, f: WireFigures | undefined): HTMLElement | undefined {
  if (!f) return undefined;
  const dl = document.createElement('dl');
  dl.className = 'figures';
  dl.setAttribute('aria-label', `${region} figures`);
  const k = f.keychainFailures;
  dl.append(...row('keychain', 'keychain failures', k ? `${k.count} in ${hoursOf(k.windowMs)} (alert above ${k.threshold})` : 'none reported', k !== null && k.count > k.threshold));
  const u = f.unlockP95;
  dl.append(
    ...row(
      'unlock',
      'unlock p95',
      !u || u.ms === null ? 'no unlock in the window' : `${Math.round(u.ms)} ms (threshold ${u.thresholdMs} ms, ${u.samples} sample${u.samples === 1 ? '' : 's'})`,
      u !== null && u.ms !== null && u.ms > u.thresholdMs && u.samples >= u.minSamples,
    ),
  );
  const c = f.certExpiry;
  dl.append(...row('cert', 'soonest certificate', c ? `${c.days} day${c.days === 1 ? '' : 's'} left (ticket under ${c.ticketDays})` : 'none reported', c !== null && c.days < c.ticketDays, 'under the threshold'));
  const s = f.silentHosts;
  dl.append(...row('silent', 'silent hosts', !s ? 'no heartbeat yet' : s.hosts.length === 0 ? `none of ${s.reporting}` : `${s.hosts.length} of ${s.reporting}: ${s.hosts.join(', ')}`, s !== null && s.hosts.length > 0, s ? `silent for ${Math.round(s.silentAfterMs / 60_000)} min or more` : ''));
  const d = f.drill;
  if (d) dl.append(...row('drill', 'drill', d.timeToGreenS !== null ? `green after ${duration(d.timeToGreenS)}` : `running: ${d.pendingHosts} host${d.pendingHosts === 1 ? '' : 's'} pending`, false));
  return dl;
}
