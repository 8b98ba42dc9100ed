/**
 * The alert policy as the dashboards see it: alerts/policy.yaml through the engine's loader
 * (services/engine/policy.ts, errors as file:line: key: reason), or the policy defaults when the file does not
 * exist. Every threshold drawn on a panel comes from the object this returns.
 */
import { loadPolicyFile, type Policy } from '../../services/engine/policy.js';

export function loadDashboardPolicy(path?: string): Readonly<Policy> {
  return loadPolicyFile(path);
}
