/**
 * JSON Schema of a dashboard, generated from the foundation SDK's own TypeScript types (the SDK ships no JSON
 * Schema and no runtime validator). Objects are closed (additionalProperties: false) so a misspelt key fails;
 * panel targets must be a Prometheus query (the SDK's prometheus Dataquery type) or our SQL query.
 * Limits: panel `options` and `fieldConfig.defaults.custom` are `any` in the SDK, so plugin options are unchecked.
 *
 * The committed copy is dashboards/schema/dashboard.schema.json; `signwatch dashboards schema` rewrites it and a
 * unit test fails when it drifts from the installed SDK.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const SCHEMA_PATH = fileURLToPath(new URL('../../../dashboards/schema/dashboard.schema.json', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../../dashboards/src/schema-entry.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.json', import.meta.url));

type Json = Record<string, unknown>;

interface Generator {
  createSchema(type: string): { definitions?: Record<string, unknown> };
}

/** Prefix every definition name and rewrite the $refs that point at them. */
function prefixed(defs: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const text = JSON.stringify(defs).replace(/"#\/definitions\/([^"]+)"/g, (_m, n: string) => `"#/definitions/${prefix}${n}"`);
  const re = JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(re).map(([k, v]) => [`${prefix}${k}`, v]));
}

/**
 * Drops the SDK's upstream doc placeholders ("TODO docs FROM: AnnotationQuery in …"): descriptions carry no
 * validation, and a copied placeholder reads as unfinished work of ours.
 */
function withoutPlaceholderDocs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPlaceholderDocs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'description' && typeof v === 'string' && /^TODO docs\b/.test(v)) continue;
    out[k] = withoutPlaceholderDocs(v);
  }
  return out;
}

/** Runs ts-json-schema-generator (dev dependency, ~3 s). */
export function generateDashboardSchema(): Json {
  const require = createRequire(import.meta.url);
  const tjs = require('ts-json-schema-generator') as { createGenerator: (c: Record<string, unknown>) => Generator };
  const g = tjs.createGenerator({ path: ENTRY, tsconfig: TSCONFIG, additionalProperties: false, skipTypeCheck: true, functions: 'hide', sortProps: true });
  const dash = g.createSchema('GrafanaDashboard');
  const prom = g.createSchema('GrafanaPrometheusQuery');
  const sql = g.createSchema('GrafanaSqlQuery');
  const definitions: Record<string, unknown> = {
    ...dash.definitions,
    ...prefixed(prom.definitions ?? {}, 'Prometheus.'),
    ...prefixed(sql.definitions ?? {}, 'Sql.'),
  };
  // cog's Dataquery is an empty marker interface: a target is one of the query models we use
  definitions['Dataquery'] = { anyOf: [{ $ref: '#/definitions/Prometheus.GrafanaPrometheusQuery' }, { $ref: '#/definitions/Sql.GrafanaSqlQuery' }] };
  const sorted = Object.fromEntries(Object.keys(definitions).sort().map((k) => [k, withoutPlaceholderDocs(definitions[k])]));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $comment: 'Generated from @grafana/grafana-foundation-sdk types by dashboards/src/schema.ts; do not edit.',
    $ref: '#/definitions/GrafanaDashboard',
    definitions: sorted,
  };
}

export const renderSchema = (s: Json): string => `${JSON.stringify(s, null, 2)}\n`;

export function loadDashboardSchema(path = SCHEMA_PATH): Json {
  return JSON.parse(readFileSync(path, 'utf8')) as Json;
}
