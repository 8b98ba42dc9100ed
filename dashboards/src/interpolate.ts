/**
 * Grafana's variable and macro expansion, for the subset the bundled dashboards use, so tests and the picture
 * renderer run exactly what Grafana would send:
 *   Prometheus: a multi-value / include-all variable becomes a regex alternation `(HK|JP)` (one value: `HK`);
 *               $__rate_interval becomes the given duration.
 *   SQL:        a multi-value / include-all variable becomes a quoted list `'HK','JP'`; a single-value
 *               variable is inserted as is; `${x:sqlstring}` is always the quoted list (quotes doubled);
 *               $__timeFilter(col) becomes `col BETWEEN '<from>' AND '<to>'`.
 */
import type { AnyDashboard } from './validate.js';

export type VarValues = Record<string, readonly string[]>;

/** Variables Grafana formats as lists (multi or include-all). */
export function multiVariables(d: AnyDashboard): Set<string> {
  return new Set((d.templating.list ?? []).filter((v) => v.multi === true || v.includeAll === true).map((v) => v.name));
}

const VAR = /\$\{([A-Za-z0-9_]+)(?::([a-z]+))?\}|\$([A-Za-z0-9_]+)/g;
const escapeRegex = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

function expand(text: string, vars: VarValues, format: (name: string, values: readonly string[], fmt: string | undefined) => string): string {
  return text.replace(VAR, (m, a: string | undefined, fmt: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? '';
    if (name.startsWith('__')) return m;
    const values = vars[name];
    if (values === undefined) throw new Error(`no value for variable $${name}`);
    return format(name, values, fmt);
  });
}

export function interpolatePromQL(expr: string, vars: VarValues, multi: ReadonlySet<string>, rateInterval: string): string {
  const out = expand(expr, vars, (name, values, fmt) => {
    if (fmt !== undefined) throw new Error(`format :${fmt} of $${name} is not supported in PromQL here`);
    if (!multi.has(name) || values.length === 1) return multi.has(name) ? escapeRegex(values[0] ?? '') : (values[0] ?? '');
    return `(${values.map(escapeRegex).join('|')})`;
  });
  return out.replace(/\$__rate_interval/g, rateInterval);
}

export function interpolateSQL(sql: string, vars: VarValues, multi: ReadonlySet<string>, from: Date, to: Date): string {
  const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  const withMacros = sql.replace(/\$__timeFilter\(([a-zA-Z_][a-zA-Z0-9_.]*)\)/g, (_m, col: string) => `${col} BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`);
  return expand(withMacros, vars, (name, values, fmt) => {
    if (fmt === 'sqlstring' || (fmt === undefined && multi.has(name))) return values.map(quote).join(',');
    if (fmt !== undefined) throw new Error(`format :${fmt} of $${name} is not supported here`);
    return values[0] ?? '';
  });
}
