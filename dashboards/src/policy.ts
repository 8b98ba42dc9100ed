/**
 * The alert policy as the dashboards see it: alerts/policy.yaml through the shared loader
 * (services/platform/policy-file.ts: schemas/policy.ts parsePolicy, errors as file:line: key: reason), or the policy
 * defaults when the file does not exist. Every threshold drawn on a panel comes from the object this returns.
 */
import type { Policy } from '../../services/engine/policy.js';
import { DEFAULT_POLICY_PATH } from '../../services/engine/policy.js';
import { loadPolicyFile } from '../../services/engine/policy.js';

/** alerts/policy.yaml of the repository. */
export const POLICY_PATH = DEFAULT_POLICY_PATH;

export function loadDashboardPolicy(path?: string): Readonly<Policy> {
  return loadPolicyFile(path);
}
