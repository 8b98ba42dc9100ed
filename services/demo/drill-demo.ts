/**
 * `signwatch demo --scenario drill`: the drill scenario (services/simulate/drill-scenario.ts) through the engine in
 * this process, the same engine the processor and `signwatch replay` run: every drilled region's records as they
 * happen (event time), then the time-to-green table of `signwatch drill report`.
 */
import { Readable } from 'node:stream';
import type { DrillRecord } from '../engine/drill.js';
import { loadPolicyFile } from '../engine/policy.js';
import { replay } from '../replay/replay.js';
import { defaultDrillScenario, drillScenarioLines } from '../simulate/drill-scenario.js';
import { buildReport, human, renderReportTable, summarise } from '../drill/report.js';

export async function drillDemo(seed: number, out: NodeJS.WritableStream): Promise<number> {
  const start = Date.parse('2026-11-20T06:00:00.000Z');
  const scenario = defaultDrillScenario(start, seed);
  const records: DrillRecord[] = [];
  out.write(`drill ${scenario.drillId}: revoking the distribution certificate in ${scenario.regions.map((r) => r.region).join(', ')} at ${new Date(start).toISOString()} (timeout ${human(scenario.timeoutMs)}; mini-us-03 stays silent)\n`);
  await replay(Readable.from(drillScenarioLines(scenario).map((l) => `${l}\n`)), {
    policy: loadPolicyFile(undefined),
    now: start + 86_400_000,
    onDrill: (d) => {
      records.push(d);
      const left = d.pendingHosts.map((h) => `${h} (${d.lacks[h]!.join(', ')})`).join('; ');
      const elapsed = human(Date.parse(d.at) - Date.parse(d.startedAt));
      out.write(`+${elapsed.padEnd(11)} ${d.region}  ${d.state.padEnd(7)} ${d.state === 'pending' ? `${d.pendingHosts.length}/${d.hosts.length} pending: ${left}` : d.state === 'green' ? `every host rotated: time to green ${elapsed}` : `${d.reason ?? ''}: ${left}`}\n`);
    },
  });
  out.write('\n' + renderReportTable(buildReport(summarise(records), scenario.drillId)!));
  return 0;
}
