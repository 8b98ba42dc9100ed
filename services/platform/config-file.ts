/**
 * Config and policy files: YAML (JSON is YAML) read from a path, validated with a zod schema, frozen. Errors name the
 * file, the line of the deepest key that exists in it, the key path and why:
 *   alerts/policy.yaml:27: alerts.unlock_latency_p95.thresholdMs: Invalid input: expected number, received string
 * Overrides (from flags) are dotted keys applied on top of the file before validation.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ErrorCode } from './errors.js';
import { deepFreeze, issueMessage, issuePath, splitIssues } from './validation.js';

export interface ConfigFileCodes {
  /** The file cannot be read. */
  unreadable: ErrorCode;
  /** The file is not YAML. */
  syntax: ErrorCode;
  /** A key is wrong. */
  invalid: ErrorCode;
}

const CONFIG_CODES: ConfigFileCodes = { unreadable: 'SW_CONFIG_INVALID', syntax: 'SW_CONFIG_INVALID', invalid: 'SW_CONFIG_INVALID' };

export interface ParsedYaml {
  data: unknown;
  /** Line (1-based) of the deepest existing node on `path`, when the text has one. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

/** Parse YAML text; `source` names it in errors. */
export function parseYamlText(text: string, source: string, codes: ConfigFileCodes = CONFIG_CODES): ParsedYaml {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.pos?.[0] !== undefined ? lc.linePos(e.pos[0]) : undefined;
    throw new ConfigError(`${source}${pos ? `:${pos.line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`, { code: codes.syntax });
  }
  return {
    data: doc.toJS() as unknown,
    lineOf(path) {
      for (let n = path.length; n > 0; n--) {
        const node = doc.getIn(path.slice(0, n).map(String), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) return lc.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

export function readTextFile(path: string, what: string, code: ErrorCode = 'SW_CONFIG_INVALID'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === 'ENOENT' ? 'no such file' : errno === 'EACCES' ? 'permission denied' : errno === 'EISDIR' ? 'is a directory' : (errno ?? (e as Error).message);
    throw new ConfigError(`${path}: cannot read ${what}: ${why}`, { code });
  }
}

/** Apply dotted-key overrides (`kafka.brokers` → {kafka: {brokers}}) to a copy of `doc`; undefined values are skipped. */
export function withOverrides(doc: unknown, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged = (doc && typeof doc === 'object' && !Array.isArray(doc) ? structuredClone(doc) : {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const parts = key.split('.');
    let o = merged;
    for (const p of parts.slice(0, -1)) {
      if (typeof o[p] !== 'object' || o[p] === null || Array.isArray(o[p])) o[p] = Object.create(null) as Record<string, unknown>;
      o = o[p] as Record<string, unknown>;
    }
    o[parts[parts.length - 1]!] = value;
  }
  return merged;
}

/**
 * Validate parsed YAML with `schema`; every issue names source:line: key: reason. `post` may check what the schema
 * cannot (cross-field rules) and throw a ConfigError itself.
 */
export function validateYaml<S extends z.ZodType>(schema: S, parsed: ParsedYaml, source: string, codes: ConfigFileCodes = CONFIG_CODES, overrides: Record<string, unknown> = {}): Readonly<z.output<S>> {
  const data = parsed.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`${source}: (root): must be a mapping`, { code: codes.invalid });
  const r = schema.safeParse(withOverrides(data, overrides));
  if (!r.success) {
    const lines = splitIssues(r.error.issues).map((i) => {
      const line = parsed.lineOf(i.path);
      return `${source}${line !== undefined ? `:${line}` : ''}: ${issuePath(i)}: ${issueMessage(i)}`;
    });
    throw new ConfigError(lines.join('\n'), { code: codes.invalid });
  }
  return deepFreeze(r.data);
}

/** Read, parse and validate a YAML/JSON config file (or only the overrides when `path` is undefined). */
export function loadConfigFile<S extends z.ZodType>(schema: S, path: string | undefined, source: string, overrides: Record<string, unknown> = {}, codes: ConfigFileCodes = CONFIG_CODES): Readonly<z.output<S>> {
  const parsed: ParsedYaml = path === undefined ? { data: {}, lineOf: () => undefined } : parseYamlText(readTextFile(path, source, codes.unreadable), path, codes);
  return validateYaml(schema, parsed, path ?? source, codes, overrides);
}
