/**
 * Grafana's variable and macro expansion, for the subset the bundled dashboards use, so tests and the picture
 * renderer run exactly what Grafana would send:
 *   Prometheus: a multi-value / include-all variable becomes a regex alternation `(HK|JP)` (one value: `HK`);
 *               $__rate_interval becomes the given duration.
 *   SQL:        a multi-value / include-all variable becomes a quoted list `'HK','JP'`; a single-value
 *               variable is inserted as is; $__timeFilter(col) becomes `col BETWEEN '<from>' AND '<to>'`.
 */
import type { AnyDashboard } from './validate.js';

export type VarValues = Record<string, readonly string[]>;

/** Variables Grafana formats as lists (multi or include-all). */
export function multiVariables(d: AnyDashboard): Set<string> {
  return new Set((d.templating.list ?? []).filter((v) => v.multi === true || v.includeAll === true).map((v) => v.name));
}

const VAR = /\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)/g;
const escapeRegex = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

function expand(text: string, vars: VarValues, format: (name: string, values: readonly string[]) => string): string {
  return text.replace(VAR, (m, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? '';
    if (name.startsWith('__')) return m;
    const values = vars[name];
    if (values === undefined) throw new Error(`no value for variable $${name}`);
    return format(name, values);
  });
}

export function interpolatePromQL(expr: string, vars: VarValues, multi: ReadonlySet<string>, rateInterval: string): string {
  const out = expand(expr, vars, (name, values) => {
    if (!multi.has(name) || values.length === 1) return multi.has(name) ? escapeRegex(values[0] ?? '') : (values[0] ?? '');
    return `(${values.map(escapeRegex).join('|')})`;
  });
  return out.replace(/\$__rate_interval/g, rateInterval);
}

export function interpolateSQL(sql: string, vars: VarValues, multi: ReadonlySet<string>, from: Date, to: Date): string {
  const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  const withMacros = sql.replace(/\$__timeFilter\(([a-zA-Z_][a-zA-Z0-9_.]*)\)/g, (_m, col: string) => `${col} BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`);
  return expand(withMacros, vars, (name, values) => (multi.has(name) ? values.map(quote).join(',') : (values[0] ?? '')));
}
