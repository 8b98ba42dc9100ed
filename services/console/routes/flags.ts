/**
 * The `signwatch console` flags of the Alert and Search pages and of Faro forwarding (services/console/command.ts
 * spreads them into its options and help): --store (the event store, the same spec as `signwatch query`),
 * --grafana-url, --faro-forward, --faro-forward-timeout, --faro-forward-key-file.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../platform/errors.js';
import { parseDuration } from '../../platform/duration.js';
import { openForCommand, resolveStoreSpec } from '../../query/query-command.js';
import type { EventStore } from '../../query/store.js';
import type { FaroForwardOptions } from './faro-forward.js';
import { parseForwardUrl } from './faro-forward.js';

export const CONSOLE_PAGES_HELP = `  --store SPEC         the event store of the Search page: sqlite:PATH or postgres://user@host/db[?schema=NAME]
                       (as for signwatch query; default $SIGNWATCH_STORE; without either the Search page says so)
  --grafana-url URL    Grafana's base URL for the Alert page's dashboard links (default: the policy's
                       links.grafanaBase)
  --faro-forward URL   also forward every accepted Faro payload to this Alloy faro.receiver / Faro collector
                       (https, or http to loopback), after answering the page; failures are counted in /metrics
  --faro-forward-timeout SPAN  per forward (default 5s); --faro-forward-key-file FILE  its API key (X-API-Key)
`;

export const CONSOLE_PAGES_OPTIONS = {
  store: { type: 'string' },
  'grafana-url': { type: 'string' },
  'faro-forward': { type: 'string' },
  'faro-forward-timeout': { type: 'string' },
  'faro-forward-key-file': { type: 'string' },
} as const;

type Values = Partial<Record<keyof typeof CONSOLE_PAGES_OPTIONS, string | undefined>>;

export interface ConsolePages {
  options: { store?: EventStore; grafanaUrl: string; faroForward?: FaroForwardOptions };
  close(): Promise<void>;
}

export async function consolePagesFlags(v: Values, defaultGrafana: string): Promise<ConsolePages> {
  const grafanaUrl = v['grafana-url'] ?? defaultGrafana;
  let g: URL | undefined;
  try {
    g = new URL(grafanaUrl);
  } catch {
    g = undefined;
  }
  if (!g || (g.protocol !== 'http:' && g.protocol !== 'https:') || g.username || g.password) {
    throw new UsageError(`signwatch console: --grafana-url: "${grafanaUrl}" must be an http(s) URL without credentials (e.g. https://grafana.example)`);
  }
  let faroForward: FaroForwardOptions | undefined;
  if (v['faro-forward'] !== undefined) {
    faroForward = { url: parseForwardUrl(v['faro-forward']).toString() };
    if (v['faro-forward-timeout'] !== undefined) {
      const ms = parseDuration(v['faro-forward-timeout']);
      if (ms === undefined || ms < 100 || ms > 120_000) throw new UsageError(`signwatch console: --faro-forward-timeout: "${v['faro-forward-timeout']}" must be a span from 100ms to 2m`);
      faroForward.timeoutMs = ms;
    }
    if (v['faro-forward-key-file'] !== undefined) {
      let key: string;
      try {
        key = readFileSync(v['faro-forward-key-file'], 'utf8').split(/\r?\n/)[0]!.trim();
      } catch (e) {
        throw new UsageError(`signwatch console: --faro-forward-key-file: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (!key) throw new UsageError(`signwatch console: --faro-forward-key-file: ${v['faro-forward-key-file']} is empty`);
      faroForward.apiKey = key;
    }
  } else if (v['faro-forward-timeout'] !== undefined || v['faro-forward-key-file'] !== undefined) {
    throw new UsageError('signwatch console: --faro-forward-timeout/--faro-forward-key-file: only make sense with --faro-forward');
  }
  const store = v.store !== undefined || process.env.SIGNWATCH_STORE ? await openForCommand(resolveStoreSpec(v.store, 'console'), 'console', true) : undefined;
  return {
    options: { grafanaUrl: g.toString().replace(/\/+$/, ''), ...(store ? { store } : {}), ...(faroForward ? { faroForward } : {}) },
    close: async () => {
      await store?.close();
    },
  };
}
