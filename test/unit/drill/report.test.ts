/**
 * `signwatch drill status|report`: the fold of drill records, the comparison with earlier drills, and the outputs of
 * docs/drill.md (the report blocks there must be exactly what the command prints for the documented commands).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { DrillRecord } from '../../../services/engine/drill.js';
import { defaultPolicy } from '../../../services/engine/policy.js';
import { replay } from '../../../services/replay/replay.js';
import { defaultDrillScenario, drillScenarioLines } from '../../../services/simulate/drill-scenario.js';
import { buildReport, human, renderReportMarkdown, renderReportTable, renderStatus, summarise } from '../../../services/drill/report.js';

const MAIN = fileURLToPath(new URL('../../../services/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const M = 60_000;
// the documented commands: `simulate --scenario drill --start X` starts the drill at X + 70 min
const q3 = drillScenarioLines(defaultDrillScenario(Date.parse('2026-08-20T04:50:00.000Z') + 70 * M, 8));
const q4 = drillScenarioLines(defaultDrillScenario(Date.parse('2026-11-20T04:50:00.000Z') + 70 * M, 17));
const Q4_ID = defaultDrillScenario(Date.parse('2026-11-20T06:00:00.000Z'), 17).drillId;

async function records(lines: string[]): Promise<DrillRecord[]> {
  const out: DrillRecord[] = [];
  await replay(Readable.from(lines.map((l) => `${l}\n`)), { policy: defaultPolicy(), now: Date.parse('2026-11-21T00:00:00.000Z'), onDrill: (d) => out.push(d) });
  return out;
}

const all = summarise(await records([...q3, ...q4]));

void test('summarise: one summary per drill, oldest first, each region at its final record (repeats and order do not matter)', async () => {
  assert.deepEqual(all.map((d) => d.startedAt), ['2026-08-20T06:00:00.000Z', '2026-11-20T06:00:00.000Z']);
  assert.deepEqual(summarise([]), []);
  const r = await records(q4);
  assert.deepEqual(summarise([...r].reverse().concat(r)), all.slice(1));
});

void test('report: compared with the drill before it, region by region (previous time to green and the change)', () => {
  const rep = buildReport(all, Q4_ID)!;
  const prev = all[0]!;
  for (const c of rep.comparison) {
    const before = prev.regions.find((r) => r.region === c.region)!;
    const now = rep.drill.regions.find((r) => r.region === c.region)!;
    assert.equal(c.previousMs, before.timeToGreenMs);
    assert.equal(c.previousDrillId, prev.drillId);
    assert.equal(c.deltaMs, now.timeToGreenMs !== null && before.timeToGreenMs !== null ? now.timeToGreenMs - before.timeToGreenMs : null);
  }
  assert.equal(rep.slowest, 'JP');
  assert.deepEqual(rep.notGreen, ['US']);
  assert.equal(buildReport(all, all[0]!.drillId)!.comparison.every((c) => c.previousMs === null && c.history.length === 0), true, 'the first drill has nothing to compare with');
  assert.equal(buildReport(all, '01M7VRMKRRCKG6SHP64HCG6FZZ'), undefined);
});

void test('status: a pending region shows its elapsed time to --now and what each host lacks', async () => {
  const cut = q4.filter((l) => /"ts":"2026-11-20T(0[0-6]|07:[0-2])/.test(l));
  const d = summarise(await records(cut)).at(-1)!;
  const text = renderStatus(d, Date.parse('2026-11-20T07:30:00.000Z'));
  assert.match(text, /^JP\s+pending\s+1h 30m 00s\s+-\s+4\s+mini-jp-01 \(scan, sign\); /m);
  assert.match(text, /^US\s+pending\s+1h 30m 00s\s+-\s+4\s+mini-us-03 \(scan, sign\)$/m);
  assert.equal(human(1247355), '20m 47s');
  assert.equal(human(4500), '4.5s');
  assert.equal(human(8917540), '2h 28m 38s');
});

void test('docs/drill.md shows exactly what `drill report` prints (table and Markdown), and the CLI prints it from a replay file', async () => {
  const doc = readFileSync(join(ROOT, 'docs/drill.md'), 'utf8');
  const rep = buildReport(all, Q4_ID)!;
  const block = (marker: string, fence: string) => {
    const i = doc.indexOf(`<!-- ${marker} -->`);
    assert.ok(i >= 0, marker);
    const start = doc.indexOf('\n', doc.indexOf(fence, i)) + 1;
    return doc.slice(start, doc.indexOf(`${fence}\n`, start));
  };
  assert.equal(block('drill-report:table', '```'), renderReportTable(rep));
  assert.equal(block('drill-report:markdown', '````'), renderReportMarkdown(rep));
  const dir = mkdtempSync(join(tmpdir(), 'sw-drill-'));
  try {
    const file = join(dir, 'drills.ndjson');
    // replay output: transitions and drill records, one JSON per line
    const lines: string[] = [];
    await replay(Readable.from([...q3, ...q4].map((l) => `${l}\n`)), {
      policy: defaultPolicy(),
      now: Date.parse('2026-11-21T00:00:00.000Z'),
      onDrill: (d) => lines.push(JSON.stringify(d)),
      onTransition: (t) => lines.push(JSON.stringify(t)),
    });
    writeFileSync(file, lines.join('\n') + '\n');
    const r = spawnSync(process.execPath, [MAIN, 'drill', 'report', '--from', file, '--id', Q4_ID], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, renderReportTable(rep));
    const bad = spawnSync(process.execPath, [MAIN, 'drill', 'report', '--from', file, '--id', '01M7VRMKRRCKG6SHP64HCG6FZZ'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^signwatch drill report: --id: no drill 01M7VRMKRRCKG6SHP64HCG6FZZ in the records read/m);
    const usage = spawnSync(process.execPath, [MAIN, 'drill', 'start', '--cert', 'xyz', '--token-book', file], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^signwatch drill start: --cert: "xyz" is not a SHA-1 \(40 hex digits\)/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
