/** Load the alert policy from a YAML or JSON file (or the built-in defaults); errors name the file and the key. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parsePolicy, type Policy } from '../../schemas/policy.js';
import { RuntimeError } from './cli.js';

export function loadPolicyFile(path: string | undefined): Readonly<Policy> {
  if (path === undefined) return parsePolicy({}, 'built-in policy');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RuntimeError(`cannot read policy ${path}: ${(e as Error).message}`, 'SW_POLICY_UNREADABLE', 2);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new RuntimeError(`policy ${path} is not valid YAML: ${(e as Error).message}`, 'SW_POLICY_INVALID', 2);
  }
  return parsePolicy(doc, path);
}
