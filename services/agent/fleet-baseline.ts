/**
 * What the fleet runs, from the other hosts' last heartbeats: the strict majority of wrapperSha256, secretVersion and
 * the search list over each host's newest heartbeat (the host itself excluded), fetched from the event store's HTTP
 * API (`GET /v1/events?type=heartbeat&since=…`, services/query/http.ts; the bearer token from a file, never argv).
 * `agent doctor` compares this host with it when the agent config names no explicit fleet value.
 */
import { readFileSync } from 'node:fs';

export interface FleetBaseline {
  wrapperSha256?: string;
  secretVersion?: string;
  searchList?: string[];
  /** How many hosts voted. */
  hosts: number;
}

interface Heartbeat {
  host?: unknown;
  ts?: unknown;
  wrapperSha256?: unknown;
  secretVersion?: unknown;
  searchList?: unknown;
}

function majority(values: readonly string[]): string | undefined {
  const n = new Map<string, number>();
  for (const v of values) n.set(v, (n.get(v) ?? 0) + 1);
  for (const [v, c] of n) if (c * 2 > values.length) return v;
  return undefined;
}

/** The strict majority of each field over each host's newest heartbeat, `self` excluded. */
export function baselineOf(events: readonly Heartbeat[], self: string): FleetBaseline {
  const newest = new Map<string, Heartbeat>();
  for (const e of events) {
    if (typeof e.host !== 'string' || e.host === self || typeof e.ts !== 'string') continue;
    const prev = newest.get(e.host);
    if (!prev || String(prev.ts) < e.ts) newest.set(e.host, e);
  }
  const beats = [...newest.values()];
  const str = (k: 'wrapperSha256' | 'secretVersion') => beats.map((b) => b[k]).filter((v): v is string => typeof v === 'string');
  const lists = beats.map((b) => b.searchList).filter((v): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string'));
  const out: FleetBaseline = { hosts: beats.length };
  const w = majority(str('wrapperSha256'));
  if (w !== undefined) out.wrapperSha256 = w;
  const s = majority(str('secretVersion'));
  if (s !== undefined) out.secretVersion = s;
  const l = majority(lists.map((x) => JSON.stringify(x)));
  if (l !== undefined) out.searchList = JSON.parse(l) as string[];
  return out;
}

/** Fetch the heartbeats of the last `since` (e.g. 2h) and compute the baseline. Throws with the reason. */
export async function fetchBaseline(url: string, tokenFile: string | undefined, self: string, since = '2h', timeoutMs = 10_000): Promise<FleetBaseline> {
  const u = new URL('/v1/events', url);
  u.searchParams.set('type', 'heartbeat');
  u.searchParams.set('since', since);
  u.searchParams.set('limit', '100000');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (tokenFile !== undefined) headers.authorization = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
  const res = await fetch(u, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${u.origin}/v1/events: HTTP ${res.status}`);
  const body = (await res.json()) as { events?: unknown };
  if (!Array.isArray(body.events)) throw new Error(`${u.origin}/v1/events: no events array in the answer`);
  return baselineOf(body.events as Heartbeat[], self);
}
