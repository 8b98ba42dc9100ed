/**
 * Checks a dashboard without a Grafana server:
 *   - JSON Schema (generated from the foundation SDK types, schema.ts) with ajv;
 *   - every $variable used anywhere (queries, titles, descriptions, repeat) is declared in templating;
 *   - every data source reference (panel, target, variable) names a provisioned uid of the same type;
 *   - panel ids present and unique, grid positions inside the 24 columns, refIds unique per panel,
 *     every non-row panel has at least one query.
 * Each function returns a list of problems in words ("panel 12 'x': …"); empty means valid.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import type { DataSourceRef } from './datasources.js';

export const DATASOURCES_PATH = fileURLToPath(new URL('../../../dashboards/provisioning/datasources/signwatch.yaml', import.meta.url));

/** Variables Grafana itself provides (never declared in templating). */
const BUILTIN = /^__/;
/** $var, ${var}, ${var:format}, [[var]] (Grafana's variable syntaxes). */
const VAR_RE = /\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]|\$([A-Za-z0-9_]+)/g;

export interface AnyPanel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  repeat?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: AnyTarget[];
  panels?: AnyPanel[];
}
export interface AnyTarget {
  refId?: string;
  datasource?: { type?: string; uid?: string };
  expr?: string;
  rawSql?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: string;
}
export interface AnyVariable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string };
  multi?: boolean;
  includeAll?: boolean;
}
export interface AnyDashboard {
  uid?: string;
  title?: string;
  panels?: AnyPanel[];
  templating: { list?: AnyVariable[] };
}

/** Variables referenced in a string. */
export function variablesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(VAR_RE)) {
    const name = m[1] ?? m[2] ?? m[3];
    if (name && !BUILTIN.test(name)) out.push(name);
  }
  return out;
}

/** Every panel, rows and their nested (collapsed) panels included, in document order. */
export function allPanels(d: AnyDashboard): AnyPanel[] {
  const out: AnyPanel[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    for (const c of p.panels ?? []) out.push(c);
  }
  return out;
}

export const variableQuery = (v: AnyVariable): string =>
  typeof v.query === 'string' ? v.query : typeof v.query === 'object' && v.query !== null && typeof (v.query as { query?: unknown }).query === 'string' ? (v.query as { query: string }).query : '';

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(schema);
}

export function schemaErrors(validate: ValidateFunction, dashboard: unknown): string[] {
  if (validate(dashboard)) return [];
  // Panel | RowPanel is an anyOf: report the most specific errors (deepest paths) first, deduplicated
  const errs = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`);
  return [...new Set(errs)].sort((a, b) => b.split('/').length - a.split('/').length).slice(0, 40);
}

export function readProvisionedDatasources(path = DATASOURCES_PATH): DataSourceRef[] {
  const doc = parse(readFileSync(path, 'utf8')) as { datasources?: { uid?: string; type?: string }[] };
  return (doc.datasources ?? []).map((d) => ({ uid: String(d.uid ?? ''), type: String(d.type ?? '') }));
}

export function lintDashboard(d: AnyDashboard, provisioned: readonly DataSourceRef[]): string[] {
  const problems: string[] = [];
  const declared = new Set((d.templating.list ?? []).map((v) => v.name));
  const byUid = new Map(provisioned.map((p) => [p.uid, p.type]));
  const checkDs = (where: string, ds: { type?: string; uid?: string } | undefined): void => {
    if (!ds) return;
    const uid = ds.uid ?? '';
    if (variablesIn(uid).length > 0) {
      problems.push(`${where}: data source uid '${uid}' is a variable; use a provisioned uid`);
      return;
    }
    const type = byUid.get(uid);
    if (type === undefined) problems.push(`${where}: data source uid '${uid}' is not provisioned (${[...byUid.keys()].join(', ')})`);
    else if (ds.type !== undefined && ds.type !== type) problems.push(`${where}: data source '${uid}' has type '${ds.type}', provisioned as '${type}'`);
  };
  const checkVars = (where: string, text: string | undefined): void => {
    for (const v of variablesIn(text ?? '')) if (!declared.has(v)) problems.push(`${where}: $${v} is not a declared variable`);
  };

  for (const v of d.templating.list ?? []) {
    const where = `variable '${v.name}'`;
    checkDs(where, v.datasource);
    checkVars(where, variableQuery(v));
  }

  const ids = new Set<number>();
  for (const p of allPanels(d)) {
    const where = `panel ${p.id ?? '?'} '${p.title ?? ''}'`;
    if (p.id === undefined) problems.push(`${where}: no id (give every panel a stable id)`);
    else if (ids.has(p.id)) problems.push(`${where}: duplicate panel id ${p.id}`);
    else ids.add(p.id);
    const g = p.gridPos;
    if (!g) problems.push(`${where}: no gridPos`);
    else if (g.x < 0 || g.w <= 0 || g.h <= 0 || g.x + g.w > 24) problems.push(`${where}: gridPos x=${g.x} w=${g.w} is outside the 24 columns`);
    checkVars(where, p.title);
    checkVars(where, p.description);
    if (p.repeat !== undefined && !declared.has(p.repeat)) problems.push(`${where}: repeats over undeclared variable '${p.repeat}'`);
    checkDs(where, p.datasource);
    if (p.type === 'row') continue;
    const targets = p.targets ?? [];
    if (targets.length === 0) problems.push(`${where}: no queries`);
    const refIds = new Set<string>();
    for (const t of targets) {
      const tw = `${where} target ${t.refId ?? '?'}`;
      if (!t.refId) problems.push(`${tw}: no refId`);
      else if (refIds.has(t.refId)) problems.push(`${tw}: duplicate refId`);
      else refIds.add(t.refId);
      checkDs(tw, t.datasource ?? p.datasource);
      if (t.expr === undefined && t.rawSql === undefined) problems.push(`${tw}: neither expr nor rawSql`);
      checkVars(tw, t.expr);
      checkVars(tw, t.rawSql);
      checkVars(tw, t.legendFormat);
    }
  }
  return problems;
}

/** One query of a dashboard, as the integration tests and the picture renderer run it. */
export interface DashboardQuery {
  dashboard: string;
  panelId: number;
  panelTitle: string;
  panelType: string;
  refId: string;
  kind: 'prometheus' | 'sql';
  text: string;
  legend?: string;
  instant: boolean;
  /** The panel repeats over (or its row repeats over) this variable. */
  repeat?: string;
}

export function dashboardQueries(d: AnyDashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  let rowRepeat: string | undefined;
  for (const p of allPanels(d)) {
    if (p.type === 'row') {
      rowRepeat = p.repeat;
      continue;
    }
    for (const t of p.targets ?? []) {
      const kind = t.rawSql !== undefined ? 'sql' : 'prometheus';
      const q: DashboardQuery = {
        dashboard: d.uid ?? '',
        panelId: p.id ?? -1,
        panelTitle: p.title ?? '',
        panelType: p.type,
        refId: t.refId ?? '',
        kind,
        text: t.rawSql ?? t.expr ?? '',
        instant: t.instant === true,
      };
      if (t.legendFormat !== undefined) q.legend = t.legendFormat;
      const repeat = p.repeat ?? rowRepeat;
      if (repeat !== undefined) q.repeat = repeat;
      out.push(q);
    }
  }
  return out;
}
