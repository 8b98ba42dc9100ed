/**
 * Every bundled dashboard, in one list: adding one is a new file plus one line here. `file` is the committed
 * JSON under dashboards/json/, named by the dashboard uid.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Policy } from '../../services/engine/policy.js';
import { fleetOverview } from './fleet-overview.js';
import { hostDrilldown } from './host-drilldown.js';
import { pipelineHealth } from './pipeline-health.js';

export interface BundledDashboard {
  file: string;
  dashboard: Dashboard;
}

export function buildDashboards(policy: Readonly<Policy>): BundledDashboard[] {
  return [
    fleetOverview(policy),
    hostDrilldown(policy),
    pipelineHealth(policy),
  ].map((dashboard) => ({ file: `${dashboard.uid ?? 'missing-uid'}.json`, dashboard }));
}

/** The exact text committed for a dashboard (2-space JSON + newline), so drift checks compare bytes. */
export const render = (d: Dashboard): string => `${JSON.stringify(d, null, 2)}\n`;
