/**
 * Loads the alert policy file (alerts/policy.yaml by default): YAML → schemas/policy.ts parsePolicy → frozen Policy.
 * Errors are coded (SW_POLICY_*), never retryable, and name the file, the key path and the line:
 *   alerts/policy.yaml:27: alerts.unlock_latency_p95.thresholdMs: Invalid input: expected number, received string
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { Policy, PolicyError, parsePolicy } from '../../schemas/policy.js';

/** alerts/policy.yaml of the repository (resolved from this module, so it works from dist/ and from any cwd). */
export const DEFAULT_POLICY_PATH = fileURLToPath(new URL('../../../alerts/policy.yaml', import.meta.url));

export class PolicyFileError extends Error {
  readonly retryable = false;
  constructor(
    message: string,
    readonly code: 'SW_POLICY_UNREADABLE' | 'SW_POLICY_YAML' | 'SW_POLICY_INVALID',
  ) {
    super(message);
  }
}

/** Parse policy YAML text; `source` names the file in error messages. */
export function parsePolicyYaml(text: string, source: string): Readonly<Policy> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.pos?.[0] !== undefined ? lc.linePos(e.pos[0]) : undefined;
    throw new PolicyFileError(`${source}${pos ? `:${pos.line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`, 'SW_POLICY_YAML');
  }
  const data: unknown = doc.toJS();
  const r = Policy.safeParse(data ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const path = i.path.map(String);
      // point at the deepest key that exists in the file
      let line: number | undefined;
      for (let n = path.length; n > 0 && line === undefined; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) line = lc.linePos(node.range[0]).line;
      }
      return `${source}${line !== undefined ? `:${line}` : ''}: ${path.join('.') || '(root)'}: ${i.message}`;
    });
    throw new PolicyFileError(lines.join('\n'), 'SW_POLICY_INVALID');
  }
  // parsePolicy freezes (and re-validates, cheap)
  try {
    return parsePolicy(data, source);
  } catch (e) {
    if (e instanceof PolicyError) throw new PolicyFileError(e.message, 'SW_POLICY_INVALID');
    throw e;
  }
}

/** Read and parse a policy file. Throws PolicyFileError naming the file (and key) on any problem. */
export function loadPolicy(path: string = DEFAULT_POLICY_PATH): Readonly<Policy> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PolicyFileError(`${path}: cannot read policy file: ${(e as Error).message}`, 'SW_POLICY_UNREADABLE');
  }
  return parsePolicyYaml(text, path);
}
