/**
 * The subcommands of `signwatch`, one line each. Modules are imported lazily so that a command loads only
 * what it needs (the agent's exec wrapper runs once per signing call and must start fast).
 */
import type { CommandModule } from '../platform/cli.js';

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  agent: { summary: 'host agent: exec wrapper, unlock helper, scanner, clock probe, notarize, daemon', load: () => import('../agent/commands/index.js') },
  replay: { summary: 'run the alert engine over NDJSON events; print transitions or hourly aggregates', load: () => import('../replay/cli.js') },
  simulate: { summary: 'generate realistic, seeded fleet traffic as NDJSON (with incidents)', load: () => import('../simulate/cli.js') },
  dashboards: { summary: 'generate / check the bundled Grafana dashboards (dashboards/json) and their JSON Schema', load: () => import('../../dashboards/src/cli.js') },
  gate: { summary: 'release gate: check a region before shipping (exit 1 while frozen), serve it, override it', load: () => import('../alerting/gate-command.js') },
  alerts: { summary: 'generate Prometheus/Alertmanager/Grafana alert files from the policy, or check them for drift', load: () => import('../alerting/alerts-command.js') },
  dlq: { summary: 'dead letters: export the dead-letter topic as NDJSON; re-drive corrected events into the events topic', load: () => import('../dlq/cli.js') },
  processor: { summary: 'live pipeline: Kafka events → alert engine → alert / hourly / dead-letter topics, /metrics', load: () => import('../processor/cli.js') },
  query: { summary: 'postmortem queries over the event store: filters, --around, --count-by, --follow; table/json/ndjson/csv', load: () => import('../query/query-command.js') },
  store: { summary: 'event store maintenance: import NDJSON (validated, deduplicated), stats, retention sweep', load: () => import('../query/store-command.js') },
  'query-server': { summary: 'HTTP API for the postmortem queries (127.0.0.1 by default; bearer token elsewhere)', load: () => import('../query/server-command.js') },
  drill: { summary: 'the quarterly revoke-one-certificate drill: start, stop, status, report (time to green per region)', load: () => import('../drill/cli.js') },
  tokens: { summary: 'per-person tokens for the gate, drills and the console: add (prints it once), list, remove', load: () => import('../tokens/cli.js') },
  console: { summary: 'web console for the engineer on call: Fleet page live from the alert topic, Faro /collect', load: () => import('../console/command.js') },
  demo: { summary: 'the whole pipeline locally: Kafka, processor, store, PagerDuty, gate and a fleet playing an incident', load: () => import('../demo/cli.js') },
};
