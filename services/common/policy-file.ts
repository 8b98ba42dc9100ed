/**
 * The policy a command runs with: the file given by --policy, else the repository's alerts/policy.yaml (the one
 * place thresholds are written), else the built-in defaults (when installed without the alerts/ folder).
 * Parsing and error messages (file:line: key: reason) are services/alerting/policy-file.ts's.
 */
import { existsSync } from 'node:fs';
import { parsePolicy, type Policy } from '../../schemas/policy.js';
import { DEFAULT_POLICY_PATH, loadPolicy } from '../alerting/policy-file.js';

export function loadPolicyFile(path: string | undefined): Readonly<Policy> {
  if (path !== undefined) return loadPolicy(path);
  if (existsSync(DEFAULT_POLICY_PATH)) return loadPolicy(DEFAULT_POLICY_PATH);
  return parsePolicy({}, 'built-in policy');
}
